// Tests of bench/load/latency_histogram: bucket arithmetic, percentiles of known distributions
// within the promised 1 %, merge, and edge cases.
#include "bench/load/latency_histogram.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

using bidder::bench::latency_histogram;
using std::chrono::nanoseconds;

namespace {

// The exact percentile of sorted samples, with the histogram's rank rule (ceil, 1-based).
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double percent) {
  return sorted[latency_histogram::percentile_rank(percent, sorted.size()) - 1];
}

void require_within_one_percent(const latency_histogram& h, std::vector<std::uint64_t> samples) {
  std::sort(samples.begin(), samples.end());
  for (double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(exact_percentile(samples, p));
    const double got = static_cast<double>(h.percentile(p).count());
    INFO("p" << p << " exact " << exact << " histogram " << got);
    CHECK(got >= exact);  // the bucket's highest value: never under-reports
    CHECK(got <= exact * 1.01 + 1);
  }
}

}  // namespace

TEST_CASE("every value maps to a bucket whose range holds it, within 1/128", "[bench][unit]") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const std::uint64_t clamped = std::min(v, latency_histogram::max_trackable_ns);
    const std::size_t index = latency_histogram::index_of(clamped);
    REQUIRE(index < latency_histogram::bucket_count);
    REQUIRE(latency_histogram::lowest_in(index) <= clamped);
    REQUIRE(latency_histogram::highest_in(index) >= clamped);
    const double width = static_cast<double>(latency_histogram::highest_in(index) -
                                             latency_histogram::lowest_in(index));
    REQUIRE(width <= static_cast<double>(latency_histogram::lowest_in(index)) / 128.0);
  }
  SECTION("buckets tile the range without gaps") {
    for (std::size_t i = 1; i < latency_histogram::bucket_count; ++i) {
      REQUIRE(latency_histogram::lowest_in(i) == latency_histogram::highest_in(i - 1) + 1);
    }
    REQUIRE(latency_histogram::highest_in(latency_histogram::bucket_count - 1) ==
            latency_histogram::max_trackable_ns);
  }
}

TEST_CASE("percentiles of a uniform distribution are within 1 %", "[bench][unit]") {
  latency_histogram h;
  std::vector<std::uint64_t> samples;
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::uint64_t> d(1'000, 10'000'000);  // 1 us .. 10 ms
  for (int i = 0; i < 100000; ++i) {
    samples.push_back(d(rng));
    h.record_ns(samples.back());
  }
  REQUIRE(h.count() == samples.size());
  require_within_one_percent(h, samples);
}

TEST_CASE("percentiles of a long-tailed distribution are within 1 %", "[bench][unit]") {
  latency_histogram h;
  std::vector<std::uint64_t> samples;
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> d(std::log(200'000.0), 1.2);  // median 200 us, long tail
  for (int i = 0; i < 200000; ++i) {
    samples.push_back(static_cast<std::uint64_t>(d(rng)));
    h.record(nanoseconds(samples.back()));
  }
  require_within_one_percent(h, samples);
}

TEST_CASE("a histogram of known values answers exactly where buckets are exact", "[bench][unit]") {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record_ns(v);  // below 256 ns: one bucket per value
  CHECK(h.percentile(50) == nanoseconds(50));
  CHECK(h.percentile(99) == nanoseconds(99));
  CHECK(h.percentile(100) == nanoseconds(100));
  CHECK(h.percentile(0) == nanoseconds(1));
  CHECK(h.min() == nanoseconds(1));
  CHECK(h.max() == nanoseconds(100));
  CHECK(h.mean() == nanoseconds(51));  // 50.5 rounds to 51
  CHECK(h.share_above(nanoseconds(90)) == Approx(0.10));
}

TEST_CASE("a bimodal distribution keeps its modes apart", "[bench][unit]") {
  latency_histogram h;
  for (int i = 0; i < 9900; ++i) h.record(std::chrono::microseconds(100));
  for (int i = 0; i < 100; ++i) h.record(std::chrono::milliseconds(200));
  const auto p99 = h.percentile(99);
  const auto p995 = h.percentile(99.5);
  CHECK(p99.count() >= 100'000);
  CHECK(p99.count() <= 101'000);
  CHECK(p995.count() >= 200'000'000);
  CHECK(p995.count() <= 202'000'000);
  CHECK(h.max() == std::chrono::milliseconds(200));
}

TEST_CASE("merging equals recording everything in one histogram", "[bench][unit]") {
  latency_histogram a;
  latency_histogram b;
  latency_histogram all;
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> fast(1.0 / 50'000);
  std::exponential_distribution<double> slow(1.0 / 5'000'000);
  for (int i = 0; i < 50000; ++i) {
    const auto x = static_cast<std::uint64_t>(fast(rng));
    const auto y = static_cast<std::uint64_t>(slow(rng));
    a.record_ns(x);
    b.record_ns(y);
    all.record_ns(x);
    all.record_ns(y);
  }
  latency_histogram merged;
  merged.merge(a);
  merged.merge(b);
  REQUIRE(merged.count() == all.count());
  CHECK(merged.min() == all.min());
  CHECK(merged.max() == all.max());
  CHECK(merged.mean() == all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99}) CHECK(merged.percentile(p) == all.percentile(p));
  for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) {
    REQUIRE(merged.count_at(i) == all.count_at(i));
  }
}

TEST_CASE("empty, negative and huge values are handled", "[bench][unit]") {
  latency_histogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(99) == nanoseconds(0));
  CHECK(h.mean() == nanoseconds(0));
  CHECK(h.share_above(nanoseconds(0)) == 0);
  h.record(nanoseconds(-5));
  CHECK(h.min() == nanoseconds(0));
  h.record(std::chrono::hours(10));
  CHECK(h.clamped() == 1);
  CHECK(h.max().count() == static_cast<std::int64_t>(latency_histogram::max_trackable_ns));
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.max() == nanoseconds(0));
}

TEST_CASE("percentile ranks are exact where doubles round up", "[bench][unit]") {
  CHECK(latency_histogram::percentile_rank(50, 10) == 5);
  CHECK(latency_histogram::percentile_rank(99.9, 1000) == 999);  // 999.0000000000001 in doubles
  CHECK(latency_histogram::percentile_rank(99.99, 10000) == 9999);
  CHECK(latency_histogram::percentile_rank(99, 100) == 99);
  CHECK(latency_histogram::percentile_rank(99, 101) == 100);
  CHECK(latency_histogram::percentile_rank(0, 7) == 1);
  CHECK(latency_histogram::percentile_rank(100, 7) == 7);
  CHECK(latency_histogram::percentile_rank(99.9, 0) == 0);

  // 999 answers of 1 ms and one of 100 ms: p99.9 is the 999th, 1 ms, not the outlier.
  latency_histogram h;
  for (int i = 0; i < 999; ++i) h.record(std::chrono::milliseconds(1));
  h.record(std::chrono::milliseconds(100));
  CHECK(h.percentile(99.9) <= std::chrono::microseconds(1010));
  CHECK(h.percentile(100) == std::chrono::milliseconds(100));
}
