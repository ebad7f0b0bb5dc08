// File: bidder/conversions/postback.hpp
//
// Parses conversion postbacks: what an advertiser's server posts to POST /admin/conversions,
// one JSON object per line (issue 15). This is the parsing and validation only; de-duplication,
// durability, attribution and the endpoint build on it.
//
//   {"conversion_id": "order-1187", "value": 59.90, "currency": "EUR", "time": 1763800000,
//    "click_id": "...", "bid_id": "...", "user_ids": ["user:3f2a9c", "uid2:AbC..."],
//    "campaign_id": "summer-sale", "advertiser": "shop.example"}
//
// - conversion_id (required): the advertiser's order id, the de-duplication key; 1-256 bytes.
// - value, currency: a value >= 0 (absent: 0) in an ISO 4217 currency (any case, stored upper);
//   a value other than 0 needs its currency.
// - time: UNIX seconds or ISO 8601 (as audience files, audience/file_format.hpp); absent: now.
//   More than a day in the future is refused.
// - what links it to our ads, at least one: click_id (from our click URL), bid_id, user_ids
//   (ids with the audience files' prefixes: user:, buyeruid:, ifa:, uid2:, id5:, eid:<source>:).
// - what it belongs to, at least one: campaign_id or advertiser (an advertiser domain).
// Unknown fields are refused (a typo must not silently drop a link). Every refused line is
// named by its number and reason; a line is applied whole or not at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"
#include "bidder/core/money.hpp"

namespace bidder::conversions {

/// Longest accepted line.
inline constexpr std::size_t max_postback_line_bytes = 16 * 1024;
/// Most user ids one conversion may carry.
inline constexpr std::size_t max_user_ids = 16;

struct conversion {
  std::string conversion_id;
  money value;           // in `currency`; zero when none was given
  std::string currency;  // upper-case ISO 4217; empty when no value was given
  unix_seconds at = 0;   // when it happened
  std::string click_id;
  std::string bid_id;
  std::vector<std::string> user_keys;  // audience store keys ("user:...", "eid:uidapi.com:...")
  std::string campaign_id;
  std::string advertiser;  // lower-case domain
};

/// Parses one line (without its newline). Errors: invalid_field / missing_field /
/// malformed_request, the message naming the field.
[[nodiscard]] result<conversion> parse_conversion(std::string_view line, unix_seconds now);

struct refused_line {
  std::size_t line = 0;  // 1-based
  std::string reason;
};

/// Parses a body of lines (blank lines skipped), calling `on_conversion(conversion, line)` for
/// each good one, which may still refuse it by returning a reason, and collecting the refused
/// ones (all counted, the first `max_reported` kept with their reasons).
struct batch_result {
  std::size_t accepted = 0;
  std::size_t refused = 0;
  std::vector<refused_line> problems;
};
using conversion_handler = std::function<std::optional<std::string>(conversion&&, std::size_t)>;
batch_result parse_postback(std::string_view body, unix_seconds now,
                            const conversion_handler& on_conversion,
                            std::size_t max_reported = 100);

}  // namespace bidder::conversions
