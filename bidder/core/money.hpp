// File: bidder/core/money.hpp
//
// Money as integer micros (1 CPM unit = 1,000,000 micros) so that sums, caps and comparisons
// are exact. Doubles appear only at the wire boundary (OpenRTB prices are JSON numbers).
//
//   auto floor = bidder::money::from_units(0.5);   // 0.50 CPM
//   if (price < floor) ...
#pragma once

#include <cmath>
#include <compare>
#include <cstdint>

namespace bidder {

class money {
 public:
  constexpr money() = default;
  static constexpr money from_micros(std::int64_t micros) noexcept { return money(micros); }
  /// Rounds to the nearest micro; NaN and negatives become zero, huge values saturate.
  static money from_units(double units) noexcept {
    if (!(units > 0)) return money(0);
    constexpr double max_units = 9.0e12;  // keeps micros inside int64
    if (units > max_units) units = max_units;
    return money(static_cast<std::int64_t>(std::llround(units * 1e6)));
  }
  constexpr std::int64_t micros() const noexcept { return micros_; }
  double units() const noexcept { return static_cast<double>(micros_) / 1e6; }
  constexpr bool is_zero() const noexcept { return micros_ == 0; }

  friend constexpr auto operator<=>(money, money) = default;
  friend constexpr money operator+(money a, money b) noexcept {
    return money(a.micros_ + b.micros_);
  }
  friend constexpr money operator-(money a, money b) noexcept {
    return money(a.micros_ - b.micros_);
  }
  /// Scales by a factor (a multiplier or an exchange rate), rounding to the nearest micro.
  money scaled(double factor) const noexcept { return from_units(units() * factor); }

 private:
  constexpr explicit money(std::int64_t micros) : micros_(micros) {}
  std::int64_t micros_ = 0;
};

}  // namespace bidder
