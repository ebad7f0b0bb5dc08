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

/// A 64-bit mix (the murmur3 finaliser): spreads every input bit over the output.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/// A 64-bit hash of `bytes` with `seed` (FNV-1a, then mixed). Not cryptographic: keyed with a
/// secret seed it makes user ids opaque, and collisions only merge two table entries.
constexpr std::uint64_t hash64(std::string_view bytes, std::uint64_t seed = 0) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed);
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

}  // namespace bidder::spend
