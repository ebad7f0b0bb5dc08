#include "bidder/spend/frequency_table.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

namespace {

using bidder::unix_seconds;
using bidder::spend::frequency_key;
using bidder::spend::frequency_table;

constexpr unix_seconds t0 = 1'749'945'600;  // 2025-06-15T00:00:00Z, a Sunday

}  // namespace

TEST_CASE("weeks start on Monday and windows are UTC hours, days and weeks", "[spend][unit]") {
  using bidder::spend::day_of;
  using bidder::spend::hour_of;
  using bidder::spend::week_of;
  CHECK(week_of(t0 + 86399) != week_of(t0 + 86400));  // Sunday 23:59:59 -> Monday
  CHECK(week_of(t0 + 86400) == week_of(t0 + 7 * 86400 - 1));
  CHECK(day_of(t0) + 1 == day_of(t0 + 86400));
  CHECK(hour_of(t0 + 3599) + 1 == hour_of(t0 + 3600));
}

TEST_CASE("impressions are counted per hour, day and week, and old windows read as zero",
          "[spend][unit]") {
  frequency_table table(1024);
  const std::uint64_t key = frequency_key(42, 7);
  CHECK(table.lookup(key, t0).day == 0);
  table.increment(key, t0 + 10);
  const auto e = table.increment(key, t0 + 20);
  CHECK(e.key == key);
  auto n = table.lookup(key, t0 + 30);
  CHECK(n.hour == 2);
  CHECK(n.day == 2);
  CHECK(n.week == 2);
  n = table.lookup(key, t0 + 3600);  // the next hour
  CHECK(n.hour == 0);
  CHECK(n.day == 2);
  n = table.lookup(key, t0 + 86400);  // Monday: a new day and a new week
  CHECK(n.day == 0);
  CHECK(n.week == 0);
  CHECK(table.lookup(frequency_key(43, 7), t0 + 30).day == 0);  // another user
  CHECK(table.lookup(frequency_key(42, 8), t0 + 30).day == 0);  // another campaign

  SECTION("a saved entry restores into a fresh table, unless its week is over") {
    frequency_table fresh(1024);
    fresh.restore(e, t0 + 40);
    CHECK(fresh.lookup(key, t0 + 40).day == 2);
    frequency_table next_week(1024);
    next_week.restore(e, t0 + 86400);
    CHECK(next_week.lookup(key, t0 + 86400).week == 0);
  }
}

TEST_CASE("a full bucket evicts the entry with the fewest impressions this week", "[spend][unit]") {
  frequency_table table(8);  // one bucket of eight slots
  for (std::uint64_t user = 1; user <= 8; ++user) {
    for (std::uint64_t i = 0; i < user + 1; ++i) table.increment(frequency_key(user, 1), t0);
  }
  CHECK(table.evictions() == 0);
  table.increment(frequency_key(100, 1), t0);
  CHECK(table.evictions() == 1);
  CHECK(table.lookup(frequency_key(1, 1), t0).week == 0);  // the lightest (2) was evicted
  CHECK(table.lookup(frequency_key(8, 1), t0).week == 9);
  CHECK(table.lookup(frequency_key(100, 1), t0).week == 1);

  SECTION("entries of a past week are reused before anything live is evicted") {
    table.increment(frequency_key(200, 1), t0 + 86400);  // Monday: every entry is stale
    CHECK(table.evictions() == 1);
    CHECK(table.lookup(frequency_key(200, 1), t0 + 86400).week == 1);
  }
}

TEST_CASE("concurrent increments of one key from several threads are all counted",
          "[spend][unit][concurrency]") {
  frequency_table table(1 << 12);
  const std::uint64_t key = frequency_key(9, 9);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) table.increment(key, t0);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(table.lookup(key, t0).day == 40000);
}
