// File: bidder/notice/signer.hpp
//
// Signs and verifies the identity of a bid with HMAC-SHA256 (OpenSSL), so that win, bill and
// loss notices and clicks cannot be forged or altered: the URLs the bidder puts in a bid carry
// the signature of the bid's request id, imp id, bid id, campaign, creative, price, currency,
// issue time and (for frequency-capped campaigns) user hashes. The notice endpoints recompute
// it and refuse a notice whose fields do not match.
//
// The signature is the first 16 bytes of the HMAC (128 bits, RFC 2104 section 5 allows
// truncation to half the output), written as 22 characters of base64url. One signature covers
// all of a bid's URLs; which notice kind it is comes from the path and is checked against the
// bid's state by the notice processor (a loss after a win is a conflict).
//
// A `signer` is immutable and thread-safe; each thread that signs or verifies owns a
// `signer::context` (OpenSSL MAC contexts are not thread-safe), which allocates nothing per call.
//
//   auto signer = notice::signer::from_file("/etc/bidder/notice.key");   // or ::random()
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

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"

namespace bidder::notice {

/// Everything a signature covers. Strings are views; the caller keeps them alive for the call.
struct bid_identity {
  std::string_view request_id;    // BidRequest.id (${AUCTION_ID})
  std::string_view imp_id;        // Imp.id (${AUCTION_IMP_ID})
  std::string_view bid_id;        // our bid id, unique per bid
  std::string_view campaign_id;   // url-safe (config)
  std::string_view creative_id;   // url-safe (config)
  std::int64_t price_micros = 0;  // the bid price (CPM) in `currency`, in micros
  std::string_view currency;      // the BidResponse currency
  unix_seconds issued_at = 0;     // when the bid was made
  std::string_view users;         // hashed user ids of a capped campaign ("" for none)
};

/// Characters of a signature in a URL (16 bytes of base64url, no padding).
inline constexpr std::size_t signature_chars = 22;
/// Shortest accepted key, in bytes (HMAC-SHA256 keys shorter than the output weaken it).
inline constexpr std::size_t min_key_bytes = 32;

class signer {
 public:
  /// A key of at least min_key_bytes. Errors: invalid_config.
  [[nodiscard]] static result<signer> from_key(std::string_view key);
  /// Reads the key from `path` (surrounding whitespace trimmed). Errors: io_error (unreadable),
  /// invalid_config (too short).
  [[nodiscard]] static result<signer> from_file(const std::string& path);
  /// A fresh random key (OpenSSL RAND_bytes). Errors: io_error when the RNG fails.
  [[nodiscard]] static result<signer> random();

  /// A per-thread signing/verifying context. Not thread-safe itself; the signer is.
  class context {
   public:
    context(context&&) noexcept;
    context& operator=(context&&) noexcept;
    ~context();
    /// Appends the 22-character signature of `id` to `out`. Never fails once constructed.
    void sign(const bid_identity& id, std::string& out) noexcept;
    /// True when `signature` is the signature of `id` (constant-time comparison).
    [[nodiscard]] bool verify(const bid_identity& id, std::string_view signature) noexcept;

   private:
    friend class signer;
    struct impl;
    explicit context(std::unique_ptr<impl> impl);
    std::unique_ptr<impl> impl_;
  };
  context new_context() const;

  /// A 64-bit secret derived from the key for `label` (HMAC of the label): used to key hashes
  /// of user ids so they are opaque outside the bidder. Stable for a given key.
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
