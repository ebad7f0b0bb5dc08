// File: bench/micro/generated_members.hpp
//
// Large audience stores for the benchmarks, built the way pushes build them without holding
// millions of strings: user i's key is key_of(i), and a segment's members are streamed in key
// order (member_source). bench_audience pushes every user into one segment; bench_reach pushes
// several overlapping segments with varied last-seen times.
//
//   auto order = members::sorted_order(10'000'000);
//   members::generated_source all(order);  // every user
//   members::generated_source some(order, {.salt = 1, .percent = 30, .max_days_ago = 60});
#pragma once

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bidder/audience/member_sorter.hpp"
#include "bidder/core/hash.hpp"

namespace members {

inline std::string key_of(std::uint64_t i) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "ifa:%016" PRIx64 "-%08" PRIx64, i * 0x9E3779B97F4A7C15ull,
                i);
  return buffer;
}

/// The users 0..n-1 in the string order of their keys: key_of prints i * C as 16 fixed-width hex
/// digits first, so string order is the numeric order of i * C (then i).
inline std::vector<std::uint64_t> sorted_order(std::uint64_t n) {
  std::vector<std::uint64_t> order(n);
  for (std::uint64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [](std::uint64_t a, std::uint64_t b) {
    const std::uint64_t ka = a * 0x9E3779B97F4A7C15ull, kb = b * 0x9E3779B97F4A7C15ull;
    return ka != kb ? ka < kb : a < b;
  });
  return order;
}

/// Which users a segment holds and how recently they were seen: user i is a member when
/// mix64(i ^ salt) % 100 < percent, last seen (another hash) 0 to max_days_ago days before `at`.
struct segment_shape {
  std::uint64_t salt = 0;
  std::uint32_t percent = 100;
  std::uint32_t max_days_ago = 0;
  std::int64_t at = 1'795'000'000;
  bool holds(std::uint64_t i) const noexcept {
    return bidder::mix64(i ^ (salt * 0x9E3779B97F4A7C15ull)) % 100 < percent;
  }
  std::int64_t last_seen(std::uint64_t i) const noexcept {
    if (max_days_ago == 0) return at;
    return at - static_cast<std::int64_t>(bidder::mix64(i + salt) % (max_days_ago + 1)) * 86'400;
  }
};

/// Streams the members of one segment in key order.
class generated_source final : public bidder::audience::member_source {
 public:
  explicit generated_source(const std::vector<std::uint64_t>& order, segment_shape shape = {})
      : order_(order), shape_(shape) {}
  // An upper bound until the end, as member_source allows.
  std::uint64_t size() const noexcept override { return order_.size(); }
  bool next(bidder::audience::member& out) override {
    while (next_ < order_.size() && !shape_.holds(order_[next_])) ++next_;
    if (next_ == order_.size()) return false;
    const std::uint64_t i = order_[next_++];
    out.key = key_of(i);
    out.last_seen = shape_.last_seen(i);
    return true;
  }

 private:
  const std::vector<std::uint64_t>& order_;
  segment_shape shape_;
  std::size_t next_ = 0;
};

}  // namespace members
