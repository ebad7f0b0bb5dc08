#include "bidder/spend/frequency_table.hpp"

#include <bit>
#include <limits>

namespace bidder::spend {
namespace {

constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

constexpr std::uint64_t pack(std::int64_t window, std::uint32_t count) noexcept {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(window)) << 32) | count;
}

constexpr std::uint32_t count_in(std::uint64_t word, std::int64_t window) noexcept {
  return (word >> 32) == static_cast<std::uint32_t>(window) && word != 0
             ? static_cast<std::uint32_t>(word)
             : 0;
}

std::uint64_t bump(std::atomic<std::uint64_t>& word, std::int64_t window) noexcept {
  std::uint64_t seen = word.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint32_t count = count_in(seen, window);
    const std::uint32_t next =
        count == std::numeric_limits<std::uint32_t>::max() ? count : count + 1;
    const std::uint64_t value = pack(window, next);
    if (word.compare_exchange_weak(seen, value, std::memory_order_acq_rel)) return value;
  }
}

}  // namespace

frequency_table::frequency_table(std::size_t slots)
    : buckets_(std::bit_ceil(std::max<std::size_t>(slots, bucket_slots)) / bucket_slots),
      keys_(std::make_unique<key_line[]>(buckets_)),
      counts_(std::make_unique<counts[]>(buckets_ * bucket_slots)) {
  for (std::size_t b = 0; b < buckets_; ++b) {
    for (auto& k : keys_[b].keys) k.store(0, std::memory_order_relaxed);
  }
}

frequency_counts frequency_table::lookup(std::uint64_t key, unix_seconds now) const noexcept {
  const std::size_t b = (key >> 8) & (buckets_ - 1);
  const key_line& line = keys_[b];
  for (std::size_t i = 0; i < bucket_slots; ++i) {
    if (line.keys[i].load(std::memory_order_acquire) != key) continue;
    const counts& c = counts_[b * bucket_slots + i];
    return {count_in(c.hour.load(std::memory_order_relaxed), hour_of(now)),
            count_in(c.day.load(std::memory_order_relaxed), day_of(now)),
            count_in(c.week.load(std::memory_order_relaxed), week_of(now))};
  }
  return {};
}

std::size_t frequency_table::claim(std::uint64_t key, unix_seconds now) noexcept {
  const std::size_t b = (key >> 8) & (buckets_ - 1);
  key_line& line = keys_[b];
  const std::int64_t week = week_of(now);
  for (std::size_t i = 0; i < bucket_slots; ++i) {
    if (line.keys[i].load(std::memory_order_acquire) == key) return b * bucket_slots + i;
  }
  // An empty slot, else one whose week is over (its old counts read as zero: no reset needed).
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < bucket_slots; ++i) {
      std::uint64_t seen = line.keys[i].load(std::memory_order_acquire);
      // Another thread may have claimed a slot for this key since the look-up above: share it,
      // or the key's counts would be split over two slots.
      if (seen == key) return b * bucket_slots + i;
      const bool usable =
          pass == 0 ? seen == 0
                    : count_in(counts_[b * bucket_slots + i].week.load(std::memory_order_relaxed),
                               week) == 0;
      if (!usable) continue;
      if (line.keys[i].compare_exchange_strong(seen, key, std::memory_order_acq_rel) ||
          seen == key) {
        return b * bucket_slots + i;
      }
    }
  }
  // Every slot is live this week: evict the one with the fewest impressions this week.
  std::size_t victim = npos;
  std::uint32_t fewest = std::numeric_limits<std::uint32_t>::max();
  for (std::size_t i = 0; i < bucket_slots; ++i) {
    const std::uint32_t n =
        count_in(counts_[b * bucket_slots + i].week.load(std::memory_order_relaxed), week);
    if (n < fewest) {
      fewest = n;
      victim = i;
    }
  }
  if (victim == npos) return npos;
  std::uint64_t seen = line.keys[victim].load(std::memory_order_acquire);
  if (seen == key) return b * bucket_slots + victim;
  if (!line.keys[victim].compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
    return seen == key ? b * bucket_slots + victim : npos;
  }
  counts& c = counts_[b * bucket_slots + victim];
  c.hour.store(0, std::memory_order_relaxed);
  c.day.store(0, std::memory_order_relaxed);
  c.week.store(0, std::memory_order_relaxed);
  evictions_.fetch_add(1, std::memory_order_relaxed);
  return b * bucket_slots + victim;
}

frequency_table::entry frequency_table::increment(std::uint64_t key, unix_seconds now) noexcept {
  const std::size_t slot = claim(key, now);
  if (slot == npos) return {};  // lost a three-way race for the bucket: one count lost
  counts& c = counts_[slot];
  entry out;
  out.key = key;
  out.hour = bump(c.hour, hour_of(now));
  out.day = bump(c.day, day_of(now));
  out.week = bump(c.week, week_of(now));
  return out;
}

void frequency_table::restore(const entry& e, unix_seconds now) noexcept {
  if (e.key == 0 || count_in(e.week, week_of(now)) == 0) return;  // its week is over
  const std::size_t slot = claim(e.key, now);
  if (slot == npos) return;
  counts& c = counts_[slot];
  c.hour.store(e.hour, std::memory_order_relaxed);
  c.day.store(e.day, std::memory_order_relaxed);
  c.week.store(e.week, std::memory_order_relaxed);
}

}  // namespace bidder::spend
