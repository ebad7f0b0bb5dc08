// File: bidder/spend/basics.hpp
//
// Vocabulary of the spend component: amounts of money spent, calendar windows (UTC) and the
// 64-bit hashes that key the lock-free tables.
//
// An `amount` is in billionths of a currency unit. A CPM price in micros (bidder::money) is
// then exactly the cost of one impression at that price: 2.50 CPM = 2,500,000 micros per
// thousand = 2,500,000 billionths per impression. Sums of prices stay exact integers.
//
//   spend::amount cost = spend::cost_of(money::from_units(2.5));   // one impression
//   spend::amount daily = spend::amount_from_units(100.0);         // a 100.00 budget
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "bidder/core/deadline.hpp"
#include "bidder/core/hash.hpp"
#include "bidder/core/money.hpp"

namespace bidder::spend {

/// Money spent or reserved, in billionths of the campaign's currency unit.
using amount = std::int64_t;

/// The cost of one impression bought at the CPM `price`.
constexpr amount cost_of(money price) noexcept { return price.micros(); }
/// Units (a budget from the config) to an amount, rounded; negatives and NaN become 0.
inline amount amount_from_units(double units) noexcept {
  if (!(units > 0)) return 0;
  return static_cast<amount>(std::llround(units * 1e9));
}
inline double units_of(amount a) noexcept { return static_cast<double>(a) / 1e9; }

inline constexpr unix_seconds seconds_per_hour = 3600;
inline constexpr unix_seconds seconds_per_day = 86400;

/// Whole periods since the epoch (UTC), floored for times before it. Weeks start on Monday
/// (1970-01-01 was a Thursday).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
constexpr std::int64_t hour_of(unix_seconds t) noexcept { return floor_div(t, seconds_per_hour); }
constexpr std::int64_t day_of(unix_seconds t) noexcept { return floor_div(t, seconds_per_day); }
constexpr std::int64_t week_of(unix_seconds t) noexcept { return floor_div(day_of(t) + 3, 7); }

// The hashes that key the lock-free tables (moved to core, where other components share them).
using bidder::hash64;
using bidder::mix64;

}  // namespace bidder::spend
