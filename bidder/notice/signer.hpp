// File: bidder/notice/signer.hpp
//
// Signs and verifies the identity of a bid with HMAC-SHA256 (OpenSSL), so that win, bill and
// loss notices and clicks cannot be forged or altered: the URLs the bidder puts in a bid carry
// the signature of the bid's request id, imp id, bid id, campaign, creative, price, currency,
// issue time, exchange, signing key id and (for frequency-capped campaigns) user hashes. The
// notice endpoints recompute it and refuse a notice whose fields do not match.
//
// Key rotation: a signer holds several keys by id. It signs with one (signing_key_id(), whose id
// the URL carries and the signature covers) and verifies with whichever key the notice names;
// a notice naming a key the signer does not hold fails verification.
//
// The signature is the first 16 bytes of the HMAC (128 bits, RFC 2104 section 5 allows
// truncation to half the output), written as 22 characters of base64url. Each of a bid's URLs
// has its own signature: the notice kind (bid_identity::purpose, taken from the path when
// verifying) is part of the signed message.
//
// A `signer` is immutable and thread-safe; each thread that signs or verifies owns a
// `signer::context` (it reuses a message buffer), which allocates nothing per call.
//
//   auto signer = notice::signer::from_file("/etc/bidder/notice.key");   // or ::random(),
//                                                                        // or ::from_keys()
//   notice::signer::context mac = signer->new_context();                 // one per thread
//   mac.sign(identity, signature);                                       // 22 chars appended
//   bool ok = mac.verify(identity, signature);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"

namespace bidder::notice {

/// Everything a signature covers. Strings are views; the caller keeps them alive for the call.
struct bid_identity {
  std::string_view request_id{};   // BidRequest.id (${AUCTION_ID})
  std::string_view imp_id{};       // Imp.id (${AUCTION_IMP_ID})
  std::string_view bid_id{};       // our bid id, unique per bid
  std::string_view campaign_id{};  // url-safe (config)
  std::string_view creative_id{};  // url-safe (config)
  std::int64_t price_micros = 0;   // the bid price (CPM) in `currency`, in micros
  std::string_view currency{};     // the BidResponse currency
  unix_seconds issued_at = 0;      // when the bid was made
  std::string_view users{};        // hashed user ids of a capped campaign ("" for none)
  std::string_view exchange{};     // the exchange the bid went to (config Exchange.id)
  std::string_view key_id{};       // the id of the key that signs it (signer::signing_key_id)
  /// What a first-price bid's shading learns from (engine/shading.hpp: "<segment>.<arm>.<value
  /// micros>"); "" for a bid that was not shaded. Signed only when set, so URLs made before
  /// the field existed still verify.
  std::string_view shading{};
  /// Which URL the signature is for (notice_kind as a number: win, bill, loss, click). Each of
  /// a bid's URLs has its own signature, so one seen by a browser (the click URL in the markup,
  /// a burl fired by the page) cannot be turned into another kind of notice.
  std::uint8_t purpose = 0;
};

/// One key of a key ring: its id (url-safe, goes into URLs) and secret.
struct named_key {
  std::string id;
  std::string secret;
};

/// Characters of a signature in a URL (16 bytes of base64url, no padding).
inline constexpr std::size_t signature_chars = 22;
/// Shortest accepted key, in bytes (HMAC-SHA256 keys shorter than the output weaken it).
inline constexpr std::size_t min_key_bytes = 32;

class signer {
 public:
  /// One key of at least min_key_bytes, with id `key_id`. Errors: invalid_config.
  [[nodiscard]] static result<signer> from_key(std::string_view key,
                                               std::string_view key_id = default_key_id);
  /// Several keys (ids unique, each secret at least min_key_bytes); signs with the one named
  /// `signing_key_id`, verifies with any. Errors: invalid_config (short key, duplicate or
  /// unknown id; the message names the key id).
  [[nodiscard]] static result<signer> from_keys(const std::vector<named_key>& keys,
                                                std::string_view signing_key_id);
  /// Reads one key from `path` (surrounding whitespace trimmed), with id `key_id`. Errors:
  /// io_error (unreadable), invalid_config (too short).
  [[nodiscard]] static result<signer> from_file(const std::string& path,
                                                std::string_view key_id = default_key_id);
  /// The secret in `path`, surrounding whitespace trimmed. Errors: io_error.
  [[nodiscard]] static result<std::string> read_key_file(const std::string& path);
  /// A fresh random key (OpenSSL RAND_bytes) with id default_key_id. Errors: io_error when the
  /// RNG fails.
  [[nodiscard]] static result<signer> random();

  /// The id of a key made by from_key/from_file/random without one.
  static constexpr std::string_view default_key_id = "0";

  /// The id of the key that signs; bid identities to sign carry it as key_id.
  std::string_view signing_key_id() const noexcept;

  /// A per-thread signing/verifying context. Not thread-safe itself; the signer is.
  class context {
   public:
    context(context&&) noexcept;
    context& operator=(context&&) noexcept;
    ~context();
    /// Appends the 22-character signature of `id`, made with the signing key, to `out`.
    /// `id.key_id` must be the signer's signing_key_id(). Never fails once constructed, but
    /// growing `out` may throw std::bad_alloc.
    void sign(const bid_identity& id, std::string& out);
    /// True when `signature` is the signature of `id` under the key named `id.key_id`
    /// (constant-time comparison); false when the signer holds no key of that id.
    [[nodiscard]] bool verify(const bid_identity& id, std::string_view signature) noexcept;

   private:
    friend class signer;
    struct impl;
    explicit context(std::unique_ptr<impl> impl);
    std::unique_ptr<impl> impl_;
  };
  context new_context() const;

  /// A 64-bit secret derived from the signing key for `label` (HMAC of the label): used to key
  /// hashes of user ids so they are opaque outside the bidder. Stable for a given key.
  std::uint64_t derive_secret(std::string_view label) const;

  signer(signer&&) noexcept;
  signer& operator=(signer&&) noexcept;
  ~signer();

 private:
  struct impl;
  explicit signer(std::shared_ptr<const impl> impl);
  std::shared_ptr<const impl> impl_;
};

}  // namespace bidder::notice
