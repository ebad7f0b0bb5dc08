// Tests of bench/load/open_loop_schedule: exact send times, no drift, due counts.
#include "bench/load/open_loop_schedule.hpp"

#include <catch2/catch.hpp>

using bidder::bench::open_loop_schedule;
using namespace std::chrono_literals;

TEST_CASE("request i is due exactly i / rate after the start", "[bench][unit]") {
  const auto start = open_loop_schedule::clock::time_point(1000s);
  const std::uint64_t rate = GENERATE(1, 3, 1000, 30'000, 1'000'000);
  const open_loop_schedule s(start, rate, 10s);
  REQUIRE(s.total() == rate * 10);
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, rate / 2, rate, s.total() - 1}) {
    INFO("rate " << rate << " request " << i);
    // No accumulation: the exact rational time, rounded down to a nanosecond.
    CHECK(s.at(i) - start == std::chrono::nanoseconds(i * 1'000'000'000 / rate));
  }
  // The last request is due before the end, and the schedule fills the whole length.
  CHECK(s.at(s.total() - 1) < start + 10s);
  CHECK(s.at(s.total() - 1) >= start + 10s - std::chrono::nanoseconds(1'000'000'000 / rate) - 1ns);
}

TEST_CASE("due_by counts the requests due at a time, at most total", "[bench][unit]") {
  const auto start = open_loop_schedule::clock::time_point(50s);
  const open_loop_schedule s(start, 1000, 2s);  // one every millisecond
  CHECK(s.due_by(start - 1ns) == 0);
  CHECK(s.due_by(start) == 1);
  CHECK(s.due_by(start + 999'999ns) == 1);
  CHECK(s.due_by(start + 1ms) == 2);
  CHECK(s.due_by(start + 1500ms) == 1501);
  CHECK(s.due_by(start + 1h) == 2000);
  SECTION("due_by and at agree for an awkward rate") {
    const open_loop_schedule t(start, 7919, 1s);
    for (std::uint64_t i = 0; i < t.total(); ++i) {
      REQUIRE(t.due_by(t.at(i)) == i + 1);
      REQUIRE(t.due_by(t.at(i) - 1ns) == i);
    }
  }
}

TEST_CASE("a zero-length schedule has no requests", "[bench][unit]") {
  const open_loop_schedule s(open_loop_schedule::clock::now(), 1000, 0s);
  CHECK(s.total() == 0);
  CHECK(s.due_by(open_loop_schedule::clock::now() + 1s) == 0);
}

TEST_CASE("a long run at the highest rate does not wrap", "[bench][unit]") {
  // 10M/s for 7 days (the longest --duration): i * 1e9 is past 2^64 after 30 minutes.
  const auto start = open_loop_schedule::clock::time_point{};
  const open_loop_schedule s(start, 10'000'000, std::chrono::hours(24 * 7));
  const std::uint64_t i = 6'047'990'000'000;  // the last second's first request
  CHECK(s.at(i) - start == std::chrono::seconds(604'799));
  CHECK(s.due_by(s.at(i)) == i + 1);
}
