#include "bench/load/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace bidder::bench {
namespace {

constexpr std::uint64_t sub_buckets = std::uint64_t{1} << latency_histogram::sub_bucket_bits;

}  // namespace

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {}

std::size_t latency_histogram::index_of(std::uint64_t ns) noexcept {
  if (ns > max_trackable_ns) ns = max_trackable_ns;
  if (ns < 2 * sub_buckets) return static_cast<std::size_t>(ns);
  // ns has bit_width w > sub_bucket_bits + 1; keep its top sub_bucket_bits + 1 bits.
  const unsigned shift = static_cast<unsigned>(std::bit_width(ns)) - sub_bucket_bits - 1;
  const std::uint64_t top = ns >> shift;  // in [sub_buckets, 2 * sub_buckets)
  return static_cast<std::size_t>(shift * sub_buckets + top);
}

std::uint64_t latency_histogram::lowest_in(std::size_t index) noexcept {
  if (index < 2 * sub_buckets) return index;
  const std::uint64_t shift = index / sub_buckets - 1;
  const std::uint64_t top = index - shift * sub_buckets;
  return top << shift;
}

std::uint64_t latency_histogram::highest_in(std::size_t index) noexcept {
  if (index < 2 * sub_buckets) return index;
  const std::uint64_t shift = index / sub_buckets - 1;
  const std::uint64_t top = index - shift * sub_buckets;
  return ((top + 1) << shift) - 1;
}

void latency_histogram::record_ns(std::uint64_t ns) noexcept {
  if (ns > max_trackable_ns) {
    ns = max_trackable_ns;
    ++clamped_;
  }
  ++counts_[index_of(ns)];
  if (count_ == 0 || ns < min_) min_ = ns;
  if (ns > max_) max_ = ns;
  ++count_;
  sum_ += static_cast<long double>(ns);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
}

void latency_histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = clamped_ = min_ = max_ = 0;
  sum_ = 0;
}

latency_histogram::duration latency_histogram::mean() const noexcept {
  if (count_ == 0) return duration(0);
  return duration(static_cast<std::int64_t>(std::llround(sum_ / count_)));
}

std::uint64_t latency_histogram::percentile_rank(double percent, std::uint64_t count) noexcept {
  if (count == 0) return 0;
  // In integers (parts per million of the count): in doubles 99.9 / 100 * 1000 is a hair over
  // 999, and its ceiling made p99.9 of 1,000 values the largest one.
  const auto ppm =
      static_cast<unsigned __int128>(std::llround(std::clamp(percent, 0.0, 100.0) * 1e4));
  const auto rank = static_cast<std::uint64_t>((ppm * count + 999'999) / 1'000'000);
  return std::clamp<std::uint64_t>(rank, 1, count);
}

latency_histogram::duration latency_histogram::percentile(double percent) const noexcept {
  if (count_ == 0) return duration(0);
  const std::uint64_t rank = percentile_rank(percent, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t value = std::clamp(highest_in(i), min_, max_);
      return duration(static_cast<std::int64_t>(value));
    }
  }
  return duration(static_cast<std::int64_t>(max_));
}

double latency_histogram::share_above(duration threshold) const noexcept {
  if (count_ == 0) return 0;
  const std::uint64_t t = threshold.count() < 0 ? 0 : static_cast<std::uint64_t>(threshold.count());
  std::uint64_t above = 0;
  for (std::size_t i = index_of(t); i < bucket_count; ++i) {
    if (lowest_in(i) > t) above += counts_[i];
  }
  return static_cast<double>(above) / static_cast<double>(count_);
}

}  // namespace bidder::bench
