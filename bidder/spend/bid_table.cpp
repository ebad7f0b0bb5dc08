#include "bidder/spend/bid_table.hpp"

#include <bit>

namespace bidder::spend {
namespace {
// Clock slack: an entry stays a minute past the max age before its slot is reused.
constexpr unix_seconds retention_slack = 60;
}  // namespace

bid_table::bid_table(std::size_t slots, unix_seconds max_age)
    : buckets_(std::bit_ceil(std::max<std::size_t>(slots, bucket_slots)) / bucket_slots),
      max_age_(max_age),
      keys_(std::make_unique<key_line[]>(buckets_)),
      states_(std::make_unique<std::atomic<std::uint64_t>[]>(buckets_ * bucket_slots)) {
  for (std::size_t b = 0; b < buckets_; ++b) {
    for (auto& k : keys_[b].keys) k.store(0, std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < buckets_ * bucket_slots; ++i) {
    states_[i].store(0, std::memory_order_relaxed);
  }
}

bool bid_table::dead(std::uint64_t state, unix_seconds now) const noexcept {
  return issued_of(state) + max_age_ + retention_slack < now;
}

std::atomic<std::uint64_t>* bid_table::find_or_claim(std::uint64_t key, unix_seconds issued,
                                                     unix_seconds now) noexcept {
  const std::size_t b = (key >> 8) & (buckets_ - 1);
  key_line& line = keys_[b];
  for (std::size_t i = 0; i < bucket_slots; ++i) {
    if (line.keys[i].load(std::memory_order_acquire) == key) return &states_[b * bucket_slots + i];
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < bucket_slots; ++i) {
      std::uint64_t seen = line.keys[i].load(std::memory_order_acquire);
      // Another thread may have claimed a slot for this very bid since the look-up above:
      // use it, or the bid would get two slots and its notice would count twice.
      if (seen == key) return &states_[b * bucket_slots + i];
      const bool usable =
          pass == 0 ? seen == 0
                    : dead(states_[b * bucket_slots + i].load(std::memory_order_acquire), now);
      if (!usable) continue;
      if (line.keys[i].compare_exchange_strong(seen, key, std::memory_order_acq_rel) ||
          seen == key) {
        // A reused slot's old state has another issue time: update() reads it as fresh.
        return &states_[b * bucket_slots + i];
      }
    }
  }
  return nullptr;
}

void bid_table::restore(std::uint64_t key, std::uint64_t state, unix_seconds now) noexcept {
  if (key == 0 || state == 0 || dead(state, now)) return;
  if (std::atomic<std::uint64_t>* slot = find_or_claim(key, issued_of(state), now)) {
    slot->store(state, std::memory_order_release);
  }
}

}  // namespace bidder::spend
