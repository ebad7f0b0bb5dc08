// File: bidder/events/event.hpp
//
// One event of the attribution log (a bid, win, bill, loss or click) as the bid path and the
// notice handlers hand it to `event_log::append`, and its on-disk form: one JSON line whose
// schema is `bidder.events.v1.Event` (proto/bidder/events/v1/events.proto, which also says why
// JSON lines). `event` is a view: its strings are not copied until `append` copies them into
// the log's queue, so building one on the bid path costs no allocation.
//
//   bidder::events::event e{.kind = bidder::events::event_kind::bid,
//                           .time_ms = bidder::events::unix_ms_now(),
//                           .auction_id = request.id, .imp_id = imp.id, .bid_id = bid.id,
//                           .campaign_id = bid.cid, .creative_id = bid.crid,
//                           .bid_price = price, .currency = response.cur,
//                           .user_key_hash = bidder::events::hash_user_key(key, secret)};
//   log.append(e);                       // bidder/events/event_log.hpp
//   std::string line = bidder::events::to_json_line(e);   // what the writer puts in the file
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bidder/core/money.hpp"

namespace bidder::events {

/// The event's kind; the values are those of `bidder.events.v1.Event.Kind`.
enum class event_kind : std::uint8_t {
  bid = 1,
  win = 2,
  bill = 3,
  loss = 4,
  click = 5,
  conversion = 6
};

/// "BID", "WIN", "BILL", "LOSS", "CLICK", "CONVERSION" (the proto enum names);
/// "KIND_UNSPECIFIED" otherwise.
std::string_view to_string(event_kind kind) noexcept;

/// Which rule credited a conversion to a touch (events.proto `attribution`).
enum class attribution : std::uint8_t { unattributed = 0, last_click = 1, last_view = 2 };
/// "unattributed", "last_click", "last_view".
std::string_view to_string(attribution rule) noexcept;
/// The inverse of to_string; nullopt for anything else.
std::optional<attribution> attribution_from_string(std::string_view text) noexcept;

/// The longest `event::features` kept (longer ones, or ones that do not fit the queue slot
/// with the rest of the event, are dropped whole).
inline constexpr std::size_t max_features_bytes = 255;

/// The fields of `bidder.events.v1.Event` (see the proto for each one's meaning). Prices are
/// CPM prices in `currency`. Empty strings and an absent `user_key_hash` are left out of the
/// line. Never put a raw user id here: only `hash_user_key`'s result.
struct event {
  event_kind kind = event_kind::bid;
  std::int64_t time_ms = 0;  ///< UNIX time in milliseconds (UTC)
  std::string_view auction_id;
  std::string_view imp_id;
  std::string_view bid_id;
  std::string_view campaign_id;
  std::string_view creative_id;
  money bid_price;       ///< written on bid, win, bill and loss
  money clearing_price;  ///< written on win and bill (${AUCTION_PRICE})
  std::string_view currency;
  std::string_view exchange;
  std::string_view seat;
  std::optional<std::uint64_t> user_key_hash;
  std::string_view deal_id;
  std::uint32_t loss_reason = 0;   ///< written on loss (${AUCTION_LOSS}, OpenRTB list 5.25)
  std::uint32_t device_type = 0;   ///< OpenRTB device type; 0: unknown
  std::string_view country;        ///< ISO-3166-1 alpha-3
  bool charged = false;            ///< win and bill: this notice counted as spend (see the proto)
  std::string_view conversion_id;  ///< conversion: the advertiser's order id
  money value;                     ///< conversion: its value in `currency`
  attribution credited_by = attribution::unattributed;  ///< conversion: the rule that credited it
  std::string_view experiment;  ///< the experiment and arm of the bid's user; empty: none
  std::string_view arm;
  /// bid: what the learned models see of the impression (bidder/learning/features.hpp tokens,
  /// "x=openx s=news.example d=4 g=car-intender:1"), for `bidder train`.
  std::string_view features;
  /// bid: the pricing model that priced it ("rules", "learned"...; the arm's when it overrides).
  std::string_view model;
};

/// The current wall-clock time as UNIX milliseconds, for `event::time_ms`.
inline std::int64_t unix_ms_now() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The secret that keys `hash_user_key` (128 bits). Keep it out of the log and stable for as
/// long as reports must match users across days; rotating it unlinks old and new hashes.
struct user_hash_key {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
  /// Reads the 16 bytes little-endian (the SipHash reference's key layout).
  static user_hash_key from_bytes(const std::array<unsigned char, 16>& bytes) noexcept;
};

/// SipHash-2-4 of `user_key` (e.g. "buyeruid:abc"), keyed with `key`: a pseudonymous id that
/// counts distinct users and joins a user's events without putting the id in the log. Without
/// the key, a hash cannot be checked against a list of known ids (SipHash is a keyed PRF).
/// Pure, thread-safe, no allocation.
std::uint64_t hash_user_key(std::string_view user_key, const user_hash_key& key) noexcept;

/// Appends `e` as one JSON line (ending in '\n') to `out`, following the writers' rules in
/// events.proto. `truncated` adds "truncated":true (ids were cut to fit a queue slot). Invalid
/// UTF-8 becomes U+FFFD and control characters are escaped, so any bytes give a valid line.
/// Allocates only when `out` must grow.
void append_json_line(const event& e, bool truncated, std::string& out);

/// `append_json_line` into a new string (tests, tools).
std::string to_json_line(const event& e, bool truncated = false);

}  // namespace bidder::events
