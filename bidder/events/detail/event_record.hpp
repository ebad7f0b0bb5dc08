// File: bidder/events/detail/event_record.hpp
//
// Component-private. The fixed-size copy of an `event` that sits in one queue slot: the numbers,
// and every string packed into one inline byte arena, so that `append` copies the event without
// allocating and the queue is one array allocated at start.
//
//   detail::event_record r;
//   bool cut = detail::pack(e, r);       // bid path
//   event view = detail::unpack(r);      // writer thread; views point into r
#pragma once

#include <cstddef>
#include <cstdint>

#include "bidder/events/event.hpp"

namespace bidder::events::detail {

/// The string fields, in the order they sit in the arena.
inline constexpr std::size_t string_field_count = 15;

/// Bytes of the inline arena. With the numbers and the queue's sequence word a slot is 768 bytes
/// (12 cache lines): 64 Ki slots are 48 MiB, 1.3 s of 50,000 events/s. A bid's features take
/// up to 255 of them.
inline constexpr std::size_t max_text_bytes = 688;

/// Longest single string kept before the arena is shared out: config ids are at most 128 bytes
/// (config/loader.cpp), so campaign and creative ids are never cut. A bid's features (the
/// learning tokens) may take up to `max_features_bytes` (event.hpp), and are dropped whole, never
/// cut.
inline constexpr std::size_t max_field_bytes = 128;

struct event_record {
  std::int64_t time_ms;
  std::int64_t bid_price_micros;
  std::int64_t clearing_price_micros;
  std::uint64_t user_key_hash;
  std::int64_t value_micros;
  std::uint32_t loss_reason;
  std::uint32_t device_type;
  event_kind kind;
  bool has_user_key_hash;
  bool truncated;
  bool charged;
  attribution credited_by;
  std::uint8_t length[string_field_count];
  char text[max_text_bytes];
};
// With the queue's 8-byte sequence word, one slot stays 768 bytes.
static_assert(sizeof(event_record) <= 760, "an event record must fit a 768-byte queue slot");

/// Copies `e` into `r`. Strings longer than `max_field_bytes` are cut to it; if they still do
/// not fit in the arena, the exchange-supplied ids are shortened first (seat, deal, imp, auction
/// id), then the features (all of them), then ours. Returns true when anything was cut (also
/// stored in `r.truncated`). noexcept, no allocation.
bool pack(const event& e, event_record& r) noexcept;

/// A view of `r` (its strings point into `r.text`).
event unpack(const event_record& r) noexcept;

}  // namespace bidder::events::detail
