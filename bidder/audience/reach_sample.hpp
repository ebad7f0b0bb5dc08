// File: bidder/audience/reach_sample.hpp
//
// A hash sample of the audience store for reach estimates (docs/audience.md, "Estimating
// reach"): the memberships of every stored key whose hash falls in the lowest 1/2^rate_log2 of
// the hash space. Each key is in it with probability 1/k (k = 2^rate_log2) independently of its
// segments, so for any expression (and / or / not, recency) the number of matching keys in the
// sample is Binomial(C, 1/k) for C matching keys in the store: k times it estimates C, with the
// error reach_interval() states. HyperLogLog sketches per segment, the alternative, can
// estimate unions but not intersections or exclusions with a bounded error.
//
// rocksdb_store builds it at open (one scan) and keeps it current: every push, ingest,
// write_user and forget re-reads the sampled keys it changed. It holds about 1/k of the users
// (k = 64: 160,000 of 10 million, ~15 MB). Control plane only: the bid path never reads it.
//
//   reach_sample sample(6, seed);
//   if (sample.holds(key)) sample.put(key, memberships);
//   auto n = sample.count(tree, now);  // sampled keys matching; estimate = n * sample.scale()
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bidder/audience/store.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/expression/expression.hpp"

namespace bidder::audience {

/// A 95% interval for C, the matching keys of a store, when `sampled` of them were found in a
/// sample that holds each key with probability 1/scale: the Wilson score interval of the
/// binomial's mean, which stays valid for small counts (at 0 found, [0, ~3.84 * scale]).
struct reach_bounds {
  std::uint64_t low = 0, high = 0;
};
reach_bounds reach_interval(std::uint64_t sampled, std::uint64_t scale) noexcept;

class reach_sample {
 public:
  /// Holds the keys whose hash (keyed with `seed`) falls in the lowest 1/2^rate_log2 of the hash
  /// space; rate_log2 from 0 (every key) to 20.
  reach_sample(unsigned rate_log2, std::uint64_t seed);

  /// True when `key` belongs in the sample. Thread-safe, no allocation.
  bool holds(std::string_view key) const noexcept;
  /// k: each key is in the sample with probability 1/k.
  std::uint64_t scale() const noexcept { return std::uint64_t{1} << rate_log2_; }

  /// Sets the memberships of `key` (which holds()); none erases it. Thread-safe.
  void put(std::string_view key, std::span<const membership_view> memberships);
  void erase(std::string_view key);

  /// Sampled keys now. Thread-safe.
  std::uint64_t keys() const;
  /// Sampled keys that match `g` (checked) at `now`: expired memberships do not count.
  /// Thread-safe; takes about 50-100 ns per sampled key.
  std::uint64_t count(const expression::group& g, unix_seconds now) const;

 private:
  struct entry {
    segment_id segment = 0;
    unix_seconds last_seen = 0;
    unix_seconds expires_at = 0;  // 0: never
  };
  unsigned rate_log2_;
  std::uint64_t seed_;
  mutable std::shared_mutex mutex_;
  segment_dictionary names_;  // every segment a sampled key has had
  // Key hash -> memberships sorted by segment id, one per segment. The hash stands for the key:
  // two sampled keys share one with probability ~n^2 / 2^59, nil at any store size.
  std::unordered_map<std::uint64_t, std::vector<entry>> keys_;
};

}  // namespace bidder::audience
