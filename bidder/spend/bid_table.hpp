// File: bidder/spend/bid_table.hpp
//
// What the notices of each recent bid have done so far: a fixed-size open-addressing table of
// atomics keyed by a hash of the bid id, so that a notice received twice counts once and a
// loss after a win is caught, without locks. Used on the notice path only; the bid path never
// touches it (a bid's reservation is found by its signed issue time, see account.hpp).
//
// An entry is a 64-bit key (hash64 of the bid id, never 0) and a 64-bit state packing the bid's
// signed issue time (high 32 bits), the seconds from issue to the win notice (16 bits, for the
// count_on BILL reservation) and flag bits (which notices arrived). Every change is one
// compare-and-swap of the state. Slots are grouped in buckets of 8 whose keys share a cache
// line.
//
// Retention and capacity. Notices older than the max age are refused before they reach the
// table, so an entry whose bid is older than that (plus a minute of clock slack) is dead and
// its slot is reused. The table must hold every bid notified within the max age: size it
// (config notice_table_slots) at twice that. When a bucket has no free or dead slot the
// notice is still applied but not remembered (`full()` counts it): a replay of it would count
// again, which over-counts spend, the safe direction.
//
//   spend::bid_table bids(1 << 20, 3600);
//   auto r = bids.update(spend::bid_key(bid_id), issued, now, [](std::uint64_t s) { ... });
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "bidder/spend/basics.hpp"

namespace bidder::spend {

/// Flag bits of a bid's state.
namespace bid_flags {
inline constexpr std::uint64_t win = 1;
inline constexpr std::uint64_t bill = 2;
inline constexpr std::uint64_t loss = 4;
inline constexpr std::uint64_t click = 8;
/// The bid-time reservation was released (or moved to the win time, see won_reserved).
inline constexpr std::uint64_t released = 16;
/// count_on BILL: the win reserved its clearing price until the bill (or the TTL).
inline constexpr std::uint64_t won_reserved = 32;
/// Fleet mode: the win's impressions were counted from another bidder's share (docs/fleet.md);
/// a win notice here then counts none.
inline constexpr std::uint64_t impressions_shared = 64;
}  // namespace bid_flags

/// The table key of a bid id; never 0.
inline std::uint64_t bid_key(std::string_view bid_id) noexcept { return hash64(bid_id) | 1; }

/// The packed state of a bid issued at `issued` with no notice yet.
constexpr std::uint64_t fresh_state(unix_seconds issued) noexcept {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(issued)) << 32;
}
constexpr unix_seconds issued_of(std::uint64_t state) noexcept {
  return static_cast<unix_seconds>(state >> 32);
}
constexpr std::uint64_t flags_of(std::uint64_t state) noexcept { return state & 0xff; }
constexpr unix_seconds win_delay_of(std::uint64_t state) noexcept {
  return static_cast<unix_seconds>((state >> 16) & 0xffff);
}
constexpr std::uint64_t with_win_delay(std::uint64_t state, unix_seconds delay) noexcept {
  const auto d = static_cast<std::uint64_t>(delay < 0 ? 0 : delay > 0xffff ? 0xffff : delay);
  return (state & ~(std::uint64_t{0xffff} << 16)) | (d << 16);
}

class bid_table {
 public:
  /// `slots` rounded up to a power of two (at least 8); entries of bids issued more than
  /// `max_age` seconds (plus a minute) ago are reusable.
  bid_table(std::size_t slots, unix_seconds max_age);

  struct update_result {
    bool remembered = false;   // false: no slot (table full); the change was not recorded
    std::uint64_t before = 0;  // the state before (fresh_state(issued) for a new bid)
    std::uint64_t after = 0;   // the state after
  };
  /// Atomically replaces the state of bid `key` (issued at `issued`) by `change(state)`, which
  /// returns the new state, or nullopt to leave it. `change` may run several times (CAS retry)
  /// and must be pure. With no slot free, `change` runs once on a fresh state and
  /// `remembered` is false.
  template <class Change>
  update_result update(std::uint64_t key, unix_seconds issued, unix_seconds now, Change&& change) {
    update_result out;
    std::atomic<std::uint64_t>* state = find_or_claim(key, issued, now);
    const std::uint64_t fresh = fresh_state(issued);
    if (state == nullptr) {
      full_.fetch_add(1, std::memory_order_relaxed);
      out.before = fresh;
      out.after = change(fresh).value_or(fresh);
      return out;
    }
    out.remembered = true;
    std::uint64_t seen = state->load(std::memory_order_acquire);
    for (;;) {
      // Another bid's leftovers (a reused slot, or a hash collision) count as nothing.
      const std::uint64_t current = issued_of(seen) == issued_of(fresh) && seen != 0 ? seen : fresh;
      const std::optional<std::uint64_t> next = change(current);
      out.before = current;
      out.after = next.value_or(current);
      if (!next || *next == seen) return out;
      if (state->compare_exchange_weak(seen, *next, std::memory_order_acq_rel)) return out;
    }
  }

  /// Start-up: puts a saved state back (skipped when its bid is past the max age).
  void restore(std::uint64_t key, std::uint64_t state, unix_seconds now) noexcept;

  std::size_t slots() const noexcept { return buckets_ * bucket_slots; }
  /// Notices applied without being remembered because the table was full.
  std::uint64_t full() const noexcept { return full_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t bucket_slots = 8;
  struct alignas(64) key_line {
    std::atomic<std::uint64_t> keys[bucket_slots];
  };
  bool dead(std::uint64_t state, unix_seconds now) const noexcept;
  std::atomic<std::uint64_t>* find_or_claim(std::uint64_t key, unix_seconds issued,
                                            unix_seconds now) noexcept;

  std::size_t buckets_;
  unix_seconds max_age_;
  std::unique_ptr<key_line[]> keys_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> states_;
  std::atomic<std::uint64_t> full_{0};
};

}  // namespace bidder::spend
