// File: bidder/notice/notice_url.hpp
//
// The notice and click URLs the bidder puts in its bids, and the parser of the query strings
// the exchange (or the user's browser, for clicks) sends back. Both sides live here so the
// format has one definition.
//
//   <base>/notice/win?auction=${AUCTION_ID}&imp=${AUCTION_IMP_ID}&bid=<bid id>&campaign=<id>
//       &creative=<id>&bp=<bid price, micros>&cur=<currency>&t=<issued, unix s>[&u=<users>]
//       &x=<exchange id>&k=<key id>[&s=<shading>]&price=${AUCTION_PRICE}&sig=<signature>
//   <base>/notice/bill?... the same
//   <base>/notice/loss?... &price=${AUCTION_PRICE}&reason=${AUCTION_LOSS}&min=${AUCTION_MIN_TO_WIN}
//   <base>/click?auction=${AUCTION_ID}&imp=${AUCTION_IMP_ID}&bid=...&t=...[&u=...]&x=...&k=...
//       &sig=...
//
// The exchange substitutes the ${...} macros (OpenRTB 2.6 section 4.4): the request and imp
// ids must come back as they were in the request, or the signature does not match. Every field
// but the macros of the auction's outcome (price, reason, min) is signed (signer.hpp); a
// signed field that is missing, repeated or unreadable simply fails verification.
//
//   notice::notice_parser parser;                              // one per thread
//   auto parsed = parser.parse(notice_kind::win, query);       // views into the parser
//   if (!parsed) answer_400(parsed.error().message);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"
#include "bidder/core/money.hpp"
#include "bidder/notice/signer.hpp"

namespace bidder::notice {

enum class notice_kind : std::uint8_t { win, bill, loss, click, count_ };
std::string_view to_string(notice_kind kind) noexcept;
/// "/notice/win" -> win, ..., "/click" -> click; anything else: nullopt.
std::optional<notice_kind> kind_from_path(std::string_view path) noexcept;

/// Appends the URL of `kind` for the bid `id`, signed with `signature` (signer::context::sign),
/// to `out`. `base` has no trailing slash. Campaign, creative and bid ids must be url-safe
/// (the config guarantees it); the currency and users are escaped when needed.
void append_notice_url(std::string& out, std::string_view base, notice_kind kind,
                       const bid_identity& id, std::string_view signature);

/// A notice as read from its query string. Views point into the parser that made it and stay
/// valid until its next parse().
struct parsed_notice {
  /// The signed fields as received. A signed numeric field that cannot be read is -1, which no
  /// signature covers.
  bid_identity id;
  std::string_view signature;
  /// ${AUCTION_PRICE}: the clearing price (CPM, in id.currency). Required for win and bill;
  /// absent (or not substituted) on a loss it is nullopt.
  std::optional<money> clearing_price;
  /// ${AUCTION_LOSS} (loss notices; empty when absent or not substituted).
  std::string_view loss_reason;
  /// ${AUCTION_MIN_TO_WIN} (loss notices; nullopt when absent or not substituted).
  std::optional<money> min_to_win;
  /// Win or bill: ${AUCTION_PRICE} was an exchange's encrypted price (looks_encrypted()),
  /// which the bidder cannot read; clearing_price is then nullopt.
  bool price_encrypted = false;
};

/// Reads a signed "u" list (16 lowercase hex digits per user hash, joined by '.') into `out`,
/// skipping malformed items; returns how many were stored (at most out.size()).
std::size_t read_user_hashes(std::string_view users, std::span<std::uint64_t> out) noexcept;

/// Longest accepted query string; real notice URLs are under 600 bytes.
inline constexpr std::size_t max_query_bytes = 4096;

class notice_parser {
 public:
  /// Reads `query` (the part after '?', percent-encoded). Errors (the notice changes nothing):
  /// too_large (query over max_query_bytes), invalid_field naming the parameter (a clearing
  /// price that is missing, unsubstituted, negative or not a number; a parameter given twice).
  /// A win or bill clearing price that looks_encrypted() is not an error: price_encrypted is
  /// set and clearing_price left empty.
  [[nodiscard]] result<parsed_notice> parse(notice_kind kind, std::string_view query);

 private:
  std::string decoded_;  // every decoded value, back to back (reserved up front: no moves)
};

/// Parses a decimal CPM ("1.25", "0.5") as sent in ${AUCTION_PRICE}; nullopt for anything else
/// (negative, NaN, an unsubstituted macro, an encrypted price).
std::optional<money> parse_price(std::string_view text) noexcept;

/// Shortest text taken for an encrypted price: the encrypted-price schemes exchanges use
/// (a 16-byte IV, the 8-byte price and a 4-byte integrity tag, or similar) are 28 bytes or more
/// before base64, and no decimal CPM is this long.
inline constexpr std::size_t min_encrypted_price_chars = 16;

/// True when `text`, not a decimal price, looks like an exchange's encrypted ${AUCTION_PRICE}:
/// min_encrypted_price_chars to 128 characters of base64 or base64url with at least one letter.
bool looks_encrypted(std::string_view text) noexcept;

}  // namespace bidder::notice
