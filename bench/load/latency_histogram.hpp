// File: bench/load/latency_histogram.hpp
//
// A log-bucketed latency histogram in the manner of HdrHistogram: fixed memory (~37 KiB), O(1)
// record, every value kept within 1/128 (0.78 %) relative error, mergeable across connections,
// threads or runs. Values are nanoseconds; a load run records every request here instead of
// storing samples, so a 10-minute run at 100,000 requests/s costs the same memory as a
// 1-second one.
//
// Layout: values below 256 ns have one exact bucket each; above, each power of two [2^k, 2^k+1)
// is split into 128 equal sub-buckets. A percentile is answered with the highest value of its
// bucket (never under-reporting), capped at the true maximum, which is kept exactly.
//
//   bidder::bench::latency_histogram h;
//   h.record(std::chrono::microseconds(420));
//   auto p99 = h.percentile(99.0);   // std::chrono::nanoseconds
//   other.merge(h);
//
// Thread-safety: none; one histogram per thread, merged at the end.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace bidder::bench {

class latency_histogram {
 public:
  using duration = std::chrono::nanoseconds;

  /// Sub-buckets per power of two: relative error <= 1/128 (0.78 %), within the 1 % budget.
  static constexpr unsigned sub_bucket_bits = 7;
  /// Largest trackable value: 2^43 ns (~2.4 hours); larger values are clamped to it and counted
  /// in `clamped()`. No request waits that long in a bounded run.
  static constexpr unsigned max_value_bits = 43;
  static constexpr std::uint64_t max_trackable_ns = (std::uint64_t{1} << max_value_bits) - 1;
  static constexpr std::size_t bucket_count =
      (max_value_bits - sub_bucket_bits - 1) * (std::size_t{1} << sub_bucket_bits) +
      (std::size_t{2} << sub_bucket_bits);

  latency_histogram();

  /// Records one value; negative durations count as 0.
  void record(duration value) noexcept { record_ns(value.count() < 0 ? 0 : value.count()); }
  void record_ns(std::uint64_t ns) noexcept;
  /// Adds every count of `other`.
  void merge(const latency_histogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  /// Values that exceeded max_trackable_ns and were recorded as it.
  std::uint64_t clamped() const noexcept { return clamped_; }
  duration min() const noexcept { return duration(count_ == 0 ? 0 : min_); }
  duration max() const noexcept { return duration(max_); }
  /// Exact mean of the recorded (clamped) values.
  duration mean() const noexcept;
  /// The value at or below which `percent` % of the values lie (0 <= percent <= 100): the
  /// highest value of the bucket that holds that rank, capped at max(). 0 when empty.
  duration percentile(double percent) const noexcept;
  /// The 1-based rank percentile() answers of `count` values: ceil(percent / 100 * count),
  /// at least 1 (p50 of 10 values is the 5th, p99.9 of 1,000 the 999th). 0 when count is 0.
  static std::uint64_t percentile_rank(double percent, std::uint64_t count) noexcept;
  /// Share of values strictly above `threshold`, from 0 to 1 (bucket resolution).
  double share_above(duration threshold) const noexcept;

  /// Bucket arithmetic, exposed for tests and for reports that walk the buckets.
  static std::size_t index_of(std::uint64_t ns) noexcept;
  static std::uint64_t lowest_in(std::size_t index) noexcept;
  static std::uint64_t highest_in(std::size_t index) noexcept;
  std::uint64_t count_at(std::size_t index) const noexcept { return counts_[index]; }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t clamped_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace bidder::bench
