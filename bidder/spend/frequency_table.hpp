// File: bidder/spend/frequency_table.hpp
//
// Impressions per (user id, campaign) in the current UTC hour, day and week: a fixed-size
// open-addressing table of atomics, so the bid path reads it without locks, allocation or I/O.
//
// Layout. Slots are grouped in buckets of 8; a bucket's 8 keys share one 64-byte cache line
// (a look-up reads one line, plus the counts line on a hit). A key is a 64-bit hash of (keyed
// user-id hash, campaign id hash), never 0. Each period's count is one 64-bit word packing the
// window index (hour, day or week since the epoch) and the count, so a count from an earlier
// window reads as 0 and needs no reset.
//
// Collisions and eviction. Two (user, campaign) pairs with the same 64-bit key share one count:
// the user is capped early (the safe direction), with odds of about n^2 / 2^64. An increment
// takes the slot holding its key, else an empty one, else one whose week is over (stale), in
// its bucket. When all 8 slots hold pairs seen this week, it evicts the one with the fewest
// impressions this week (counted in `evictions()`): that pair's counts restart from zero, so
// its user may see up to its caps again. Size the table (config frequency_table_slots) at
// twice the (user id, capped campaign) pairs of a week to keep evictions rare. Two increments
// racing to claim or evict the same slot may lose one count; the cap is then one impression
// late for that user.
//
//   spend::frequency_table table(1 << 20);
//   auto key = spend::frequency_key(user_hash, campaign_hash);
//   if (table.lookup(key, now).day >= cap) skip();   // bid path
//   table.increment(key, now);                       // win notice
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "bidder/spend/basics.hpp"

namespace bidder::spend {

enum class cap_period : std::uint8_t { hour, day, week };

/// A frequency cap: at most `max_impressions` per user in one `period`.
struct frequency_cap {
  std::uint32_t max_impressions = 0;
  cap_period period = cap_period::day;
};

/// Impressions counted in the current window of each period.
struct frequency_counts {
  std::uint32_t hour = 0, day = 0, week = 0;
  std::uint32_t in(cap_period p) const noexcept {
    return p == cap_period::hour ? hour : p == cap_period::day ? day : week;
  }
};

/// The table key of a (user id hash, campaign id hash) pair; never 0.
constexpr std::uint64_t frequency_key(std::uint64_t user_hash,
                                      std::uint64_t campaign_hash) noexcept {
  return mix64(user_hash ^ mix64(campaign_hash + 0x9e3779b97f4a7c15ULL)) | 1;
}

class frequency_table {
 public:
  /// One entry as stored: the key and the packed (window << 32 | count) of each period.
  struct entry {
    std::uint64_t key = 0;
    std::uint64_t hour = 0, day = 0, week = 0;
  };

  /// `slots` is rounded up to a power of two, at least 8.
  explicit frequency_table(std::size_t slots);

  /// Bid path: the counts of `key` at `now` (zeros when absent). Lock-free, no allocation.
  frequency_counts lookup(std::uint64_t key, unix_seconds now) const noexcept;
  /// Notice path: counts one impression for `key` at `now`; returns the entry as stored after
  /// it (for the journal).
  entry increment(std::uint64_t key, unix_seconds now) noexcept;
  /// Start-up: puts a saved entry back (skipped when its week is over).
  void restore(const entry& e, unix_seconds now) noexcept;

  std::size_t slots() const noexcept { return buckets_ * bucket_slots; }
  std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t bucket_slots = 8;
  struct alignas(64) key_line {
    std::atomic<std::uint64_t> keys[bucket_slots];
  };
  struct counts {
    std::atomic<std::uint64_t> hour{0}, day{0}, week{0};
  };
  std::size_t claim(std::uint64_t key, unix_seconds now) noexcept;

  std::size_t buckets_;
  std::unique_ptr<key_line[]> keys_;
  std::unique_ptr<counts[]> counts_;
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace bidder::spend
