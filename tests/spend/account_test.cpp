#include "bidder/spend/account.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <limits>
#include <random>
#include <thread>
#include <vector>

namespace {

using bidder::money;
using bidder::unix_seconds;
using bidder::spend::account;
using bidder::spend::amount;
using bidder::spend::amount_from_units;
using bidder::spend::budget;
using bidder::spend::cost_of;

constexpr unix_seconds t0 = 1'750'000'000;  // 2025-06-15T15:06:40Z
constexpr unix_seconds ttl = 30;

amount cpm(double units) { return cost_of(money::from_units(units)); }

budget daily(double units) {
  budget b;
  b.daily = amount_from_units(units);
  return b;
}

}  // namespace

TEST_CASE("a bid reserves its price and a budget with no room left stops bids at once",
          "[spend][unit]") {
  account a("c1", ttl);
  const budget b = daily(0.01);  // ten impressions at 1.00 CPM
  a.tick(b, t0);
  CHECK(a.room(b, t0) == amount_from_units(0.01));
  for (int i = 0; i < 10; ++i) REQUIRE(a.try_reserve(b, cpm(1.0), t0));
  CHECK(a.reserved() == amount_from_units(0.01));
  CHECK(a.room(b, t0) == 0);
  CHECK_FALSE(a.try_reserve(b, cpm(1.0), t0));
  CHECK(a.reserved() == amount_from_units(0.01));  // a refused reservation leaves nothing

  SECTION("a win charges the clearing price and releases the bid price") {
    a.charge(cpm(0.6), t0 + 1);
    a.release(cpm(1.0), t0);
    CHECK(a.spent_day(t0 + 1) == cpm(0.6));
    CHECK(a.spent_lifetime() == cpm(0.6));
    CHECK(a.room(b, t0 + 1) == cpm(0.4));
    CHECK_FALSE(a.try_reserve(b, cpm(0.5), t0 + 1));
    CHECK(a.try_reserve(b, cpm(0.4), t0 + 1));
  }
  SECTION("a loss gives the whole reservation back") {
    a.release(cpm(1.0), t0);
    CHECK(a.room(b, t0) == cpm(1.0));
  }
}

TEST_CASE("a reservation expires after the TTL, and a release after that changes nothing",
          "[spend][unit]") {
  account a("c1", ttl);
  const budget b = daily(1.0);
  a.tick(b, t0);
  REQUIRE(a.try_reserve(b, cpm(2.0), t0));
  REQUIRE(a.try_reserve(b, cpm(3.0), t0 + 5));
  a.tick(b, t0 + ttl - 1);
  CHECK(a.reserved() == cpm(5.0));
  a.tick(b, t0 + ttl);
  CHECK(a.reserved() == cpm(3.0));  // the first one expired
  a.release(cpm(2.0), t0);          // its late notice: nothing left to release
  CHECK(a.reserved() == cpm(3.0));
  a.tick(b, t0 + 5 + ttl);
  CHECK(a.reserved() == 0);

  SECTION("after a stall longer than the whole ring every bucket is retired once") {
    REQUIRE(a.try_reserve(b, cpm(1.0), t0 + 40));
    a.tick(b, t0 + 10'000);
    CHECK(a.reserved() == 0);
  }
}

TEST_CASE("a budget-limited campaign stops bidding when the ticker stops (fail closed)",
          "[spend][unit]") {
  account a("c1", ttl);
  const budget limited = daily(1.0);
  CHECK_FALSE(a.try_reserve(limited, cpm(1.0), t0));  // never ticked
  a.tick(limited, t0);
  CHECK(a.try_reserve(limited, cpm(1.0), t0 + bidder::spend::ticker_stale_after));
  CHECK_FALSE(a.try_reserve(limited, cpm(1.0), t0 + bidder::spend::ticker_stale_after + 1));
  CHECK(a.try_reserve(budget{}, cpm(1.0), t0 + 1000));  // no limit: nothing to protect
}

TEST_CASE("the daily budget restarts at UTC midnight but the lifetime budget does not",
          "[spend][unit]") {
  account a("c1", ttl);
  budget b = daily(0.002);
  b.lifetime = amount_from_units(0.003);
  const unix_seconds midnight = (t0 / 86400 + 1) * 86400;
  a.tick(b, midnight - 10);
  REQUIRE(a.try_reserve(b, cpm(2.0), midnight - 10));
  a.charge(cpm(2.0), midnight - 9);
  a.release(cpm(2.0), midnight - 10);
  CHECK_FALSE(a.try_reserve(b, cpm(1.0), midnight - 5));  // today's budget is spent
  a.tick(b, midnight);
  CHECK(a.spent_day(midnight) == 0);
  REQUIRE(a.try_reserve(b, cpm(1.0), midnight + 1));
  a.charge(cpm(1.0), midnight + 2);
  a.release(cpm(1.0), midnight + 1);
  CHECK(a.spent_lifetime() == cpm(3.0));
  CHECK_FALSE(a.try_reserve(b, cpm(0.5), midnight + 3));  // lifetime spent
}

TEST_CASE("a burst of concurrent bids and wins from several threads never overspends",
          "[spend][unit][concurrency]") {
  account a("c1", ttl);
  const budget b = daily(5.0);  // 5.00: 2,000 impressions at 2.50 CPM
  a.tick(b, t0);
  constexpr int threads = 4;
  std::atomic<int> wins{0};
  std::atomic<amount> charged{0};
  std::atomic<bool> ever_over{false};  // Catch2 assertions are not thread-safe: checked after
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uniform_real_distribution<double> price(0.5, 4.0);
      int refused_in_a_row = 0;
      while (refused_in_a_row < 200) {
        const amount bid = cpm(price(rng));
        if (!a.try_reserve(b, bid, t0)) {
          ++refused_in_a_row;
          continue;
        }
        refused_in_a_row = 0;
        // Every bid wins at a clearing price at most its bid (second price, or first price).
        const amount clearing =
            bid - static_cast<amount>(rng() % static_cast<unsigned>(bid / 2 + 1));
        a.charge(clearing, t0);
        a.release(bid, t0);
        charged.fetch_add(clearing);
        wins.fetch_add(1);
        if (a.spent_day(t0) > b.daily) ever_over.store(true);
      }
    });
  }
  for (auto& w : workers) w.join();
  INFO("wins " << wins.load() << ", spent " << a.spent_day(t0));
  CHECK_FALSE(ever_over.load());
  CHECK(a.spent_day(t0) == charged.load());
  CHECK(a.spent_day(t0) <= b.daily);
  CHECK(a.reserved() == 0);
  CHECK(wins.load() > 1000);
  // The budget ends nearly used: at most one bid's worth (4.00 CPM) is left.
  CHECK(b.daily - a.spent_day(t0) < cpm(4.0));
}

TEST_CASE("wins for every bid still out, arriving at once, stay within the budget",
          "[spend][unit][concurrency]") {
  account a("c1", ttl);
  const budget b = daily(1.0);
  a.tick(b, t0);
  // Bids go out from four threads until the budget is fully reserved.
  std::vector<std::vector<amount>> out(4);
  std::vector<std::thread> bidders;
  for (std::size_t t = 0; t < out.size(); ++t) {
    bidders.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (a.try_reserve(b, cpm(3.0), t0)) out[t].push_back(cpm(3.0));
      }
    });
  }
  for (auto& th : bidders) th.join();
  std::size_t total = 0;
  for (const auto& o : out) total += o.size();
  CHECK(total == 333);  // 333 x 0.003 = 0.999 <= 1.0
  // Then every one of them wins at its full bid price, all threads at once.
  std::vector<std::thread> notifiers;
  for (std::size_t t = 0; t < out.size(); ++t) {
    notifiers.emplace_back([&, t] {
      for (amount bid : out[t]) {
        a.charge(bid, t0 + 1);
        a.release(bid, t0);
      }
    });
  }
  for (auto& th : notifiers) th.join();
  CHECK(a.spent_day(t0 + 1) == cpm(3.0) * 333);
  CHECK(a.spent_day(t0 + 1) <= b.daily);
  CHECK(a.reserved() == 0);
}

TEST_CASE("the overspend bound: only wins arriving after their reservation expired can exceed",
          "[spend][unit]") {
  account a("c1", ttl);
  const budget b = daily(1.0);
  a.tick(b, t0);
  int bids = 0;
  while (a.try_reserve(b, cpm(4.0), t0)) ++bids;
  CHECK(bids == 250);
  a.tick(b, t0 + ttl + 1);  // every reservation expired without a notice
  CHECK(a.reserved() == 0);
  // New bids take the freed budget, then the old wins arrive late.
  int more = 0;
  while (a.try_reserve(b, cpm(4.0), t0 + ttl + 1)) ++more;
  CHECK(more == 250);
  for (int i = 0; i < more; ++i) {
    a.charge(cpm(4.0), t0 + ttl + 2);
    a.release(cpm(4.0), t0 + ttl + 1);
  }
  const int late = 10;
  for (int i = 0; i < late; ++i) {
    a.charge(cpm(4.0), t0 + ttl + 3);
    a.release(cpm(4.0), t0);  // expired: no effect
  }
  // Spend is over the budget by exactly the late wins, no more.
  CHECK(a.spent_day(t0 + ttl + 3) == b.daily + cpm(4.0) * late);
  CHECK(a.reserved() == 0);
  CHECK_FALSE(a.try_reserve(b, cpm(0.001), t0 + ttl + 3));
}

TEST_CASE("save and restore keep today's spend, the lifetime, counters and live reservations",
          "[spend][unit]") {
  account a("c1", ttl);
  const budget b = daily(1.0);
  a.tick(b, t0);
  REQUIRE(a.try_reserve(b, cpm(2.0), t0));  // expired by restore time
  a.tick(b, t0 + 10);
  REQUIRE(a.try_reserve(b, cpm(3.0), t0 + 10));
  a.charge(cpm(1.5), t0 + 10);
  a.count_win();
  a.count_click();
  const unix_seconds restart = t0 + ttl + 5;
  const account::saved saved = a.save(restart);
  account b2("c1", ttl);
  b2.restore(saved, restart);
  b2.tick(b, restart);
  CHECK(b2.spent_day(restart) == cpm(1.5));
  CHECK(b2.spent_lifetime() == cpm(1.5));
  CHECK(b2.wins() == 1);
  CHECK(b2.clicks() == 1);
  CHECK(b2.reserved() == cpm(3.0));
  b2.release(cpm(3.0), t0 + 10);  // the restored reservation is released by its notice
  CHECK(b2.reserved() == 0);

  SECTION("a saved pacing rate that is not a number restores as 0, anything else clamped") {
    account::saved odd = saved;
    for (const auto& [rate, expected] :
         std::vector<std::pair<double, double>>{{std::numeric_limits<double>::quiet_NaN(), 0.0},
                                                {-std::numeric_limits<double>::infinity(), 0.0},
                                                {-0.5, 0.0},
                                                {std::numeric_limits<double>::infinity(), 1.0},
                                                {7.0, 1.0},
                                                {0.25, 0.25}}) {
      odd.pacing_rate = rate;
      account c("c1", ttl);
      c.restore(odd, restart);
      CHECK(c.pacing_rate() == Approx(expected).margin(1e-9));
    }
  }

  SECTION("restored the next day, today's spend starts from zero") {
    account c("c1", ttl);
    c.restore(saved, restart + 86400);
    CHECK(c.spent_day(restart + 86400) == 0);
    CHECK(c.spent_lifetime() == cpm(1.5));
    CHECK(c.reserved() == 0);
  }
}
