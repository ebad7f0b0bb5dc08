// File: bidder/conversions/touch.hpp
//
// A touch: one of our ads that reached a user (a view: the win or bill notice of a shown ad; a
// click: our click redirect), what attribution credits conversions to. The touch store keeps a
// short list of them per pseudonymous user key and per bid id (conversion_store.hpp); this file
// is their compact binary form and the rule that merges two lists.
//
//   std::string value;
//   append_touch(value, {.kind = touch_kind::click, .at = now, .bid_id = "7-0-1f", ...});
//   std::vector<touch> list;
//   if (!read_touches(value, list)) { /* corrupt */ }
//   std::vector<touch> kept = merge_touches(std::move(list), /*max=*/32, /*horizon=*/31 * 86400);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/deadline.hpp"

namespace bidder::conversions {

enum class touch_kind : std::uint8_t { view = 1, click = 2 };
/// "view", "click".
std::string_view to_string(touch_kind kind) noexcept;

struct touch {
  touch_kind kind = touch_kind::view;
  unix_seconds at = 0;  // when the notice or click arrived
  std::string bid_id;
  std::string campaign_id;
  std::string creative_id;
  std::string exchange;
  std::string currency;           // of price_micros: the bid's currency
  std::int64_t price_micros = 0;  // views: the clearing CPM price; clicks: 0
  std::string arm;                // "experiment/arm" of the bid's user; empty: none
  friend bool operator==(const touch&, const touch&) = default;
};

/// Longest id kept in a touch (longer ones are cut): config ids are at most 128 bytes.
inline constexpr std::size_t max_touch_id_bytes = 128;

/// Appends `t`'s encoding to `out` (a list is its touches' encodings back to back).
void append_touch(std::string& out, const touch& t);

/// Appends the touches encoded in `bytes` to `out`. False (and `out` unchanged) when the bytes
/// are not a whole list of touches.
[[nodiscard]] bool read_touches(std::string_view bytes, std::vector<touch>& out);

/// The list to keep from `touches` (any order, possibly with repeats): newest first, one per
/// (bid, kind), at most `max_touches`, none older than `horizon` seconds before the newest
/// one. Relative to the newest touch rather than a clock, so merging is deterministic.
std::vector<touch> merge_touches(std::vector<touch> touches, std::size_t max_touches,
                                 unix_seconds horizon);

}  // namespace bidder::conversions
