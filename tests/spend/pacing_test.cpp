// Pacing over a simulated day: an injected clock steps one second at a time through a UTC day
// of traffic that rises and falls (four times as much at the afternoon peak as at night), with
// three times the demand the daily budget can buy. Bids, wins and losses go through the same
// account calls as the engine and the notice processor make.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "bidder/spend/account.hpp"

namespace {

using bidder::money;
using bidder::unix_seconds;
using bidder::spend::account;
using bidder::spend::amount;
using bidder::spend::amount_from_units;
using bidder::spend::budget;
using bidder::spend::cost_of;
using bidder::spend::pacing_mode;

constexpr unix_seconds day_start = 1'750'032'000;  // 2025-06-16T00:00:00Z
static_assert(day_start % 86400 == 0);
constexpr double pi = 3.14159265358979323846;

struct day_result {
  std::array<amount, 24> spent_by_hour{};  // spent today at the end of each hour
  amount spent = 0;
  std::uint64_t bids = 0, wins = 0;
};

// Opportunities per second at `t`: 10 at 04:00, 40 at 16:00 (a cosine in between).
double traffic(unix_seconds t) {
  const double hour = static_cast<double>(t - day_start) / 3600.0;
  return 25.0 - 15.0 * std::cos(2 * pi * (hour - 4.0) / 24.0);
}

day_result simulate_day(const budget& b) {
  account a("paced", 60);
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<double> unit(0, 1);
  const amount bid_cost = cost_of(money::from_units(2.0));
  const amount clearing = cost_of(money::from_units(1.6));
  // Bids whose notice arrives a second later (wins, and half of the losses).
  std::vector<unix_seconds> pending_wins, pending_losses, next_wins, next_losses;
  day_result out;
  for (unix_seconds t = day_start; t < day_start + 86400; ++t) {
    a.tick(b, t);
    for (unix_seconds issued : pending_wins) {
      a.charge(clearing, t);
      a.release(bid_cost, issued);
      ++out.wins;
    }
    for (unix_seconds issued : pending_losses) a.release(bid_cost, issued);
    pending_wins.swap(next_wins);
    pending_losses.swap(next_losses);
    next_wins.clear();
    next_losses.clear();
    const double expected = traffic(t);
    const auto n =
        static_cast<int>(expected) + (unit(rng) < expected - std::floor(expected) ? 1 : 0);
    for (int i = 0; i < n; ++i) {
      if (!a.pacing_allows(static_cast<std::uint32_t>(rng()))) continue;
      if (a.room(b, t) < bid_cost || !a.try_reserve(b, bid_cost, t)) continue;
      ++out.bids;
      const double outcome = unit(rng);
      if (outcome < 0.3) {
        next_wins.push_back(t);
      } else if (outcome < 0.65) {
        next_losses.push_back(t);
      }  // else: no loss notice; the reservation expires after the TTL
    }
    if ((t - day_start + 1) % 3600 == 0) {
      out.spent_by_hour[static_cast<std::size_t>((t - day_start) / 3600)] = a.spent_day(t);
    }
  }
  out.spent = a.spent_day(day_start + 86399);
  return out;
}

}  // namespace

TEST_CASE("even pacing spreads the daily budget over a simulated day and ends within 5% of it",
          "[spend][pacing]") {
  budget b;
  b.daily = amount_from_units(300.0);  // unthrottled, the day's traffic would buy about 1,000
  b.pacing = pacing_mode::even;
  const day_result day = simulate_day(b);
  INFO("spent " << bidder::spend::units_of(day.spent) << " of 300 with " << day.bids << " bids, "
                << day.wins << " wins");
  CHECK(day.spent <= b.daily);
  CHECK(day.spent >= b.daily * 95 / 100);
  // Spread evenly: every hour spends between half and twice an even share (300 / 24 = 12.5),
  // so the budget neither runs out before evening nor is left for the last minutes.
  amount before = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    const amount in_hour = day.spent_by_hour[h] - before;
    before = day.spent_by_hour[h];
    INFO("hour " << h << " spent " << bidder::spend::units_of(in_hour));
    CHECK(in_hour >= b.daily / 48);
    CHECK(in_hour <= b.daily / 12);
  }
  CHECK(day.spent_by_hour[11] <= b.daily * 55 / 100);  // half the day: about half the budget
  CHECK(day.spent_by_hour[11] >= b.daily * 45 / 100);
  CHECK(day.spent_by_hour[19] <= b.daily * 87 / 100);  // 20:00: still about 1/6 left
}

TEST_CASE("asap pacing spends as fast as demand allows and runs dry early", "[spend][pacing]") {
  budget b;
  b.daily = amount_from_units(300.0);
  b.pacing = pacing_mode::asap;
  const day_result day = simulate_day(b);
  CHECK(day.spent <= b.daily);
  CHECK(day.spent >= b.daily * 99 / 100);
  // The same traffic spends the whole budget by mid-morning (what EVEN prevents).
  CHECK(day.spent_by_hour[11] >= b.daily * 99 / 100);
}
