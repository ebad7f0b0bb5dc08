// File: tests/shading/market.hpp
//
// A seeded synthetic first-price market for the shading tests: the highest competing bid is the
// best of `competitors` log-normal bids (bidsim's fp-exchange by default), values are log-normal.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

namespace bidder::test {

struct synthetic_market {
  double mu = 0.47, sigma = 0.6;
  int competitors = 3;
  double value_mu = std::log(2.0), value_sigma = 0.5;
  std::mt19937_64 rng{42};

  double highest_competing_bid() {
    std::normal_distribution<double> n(mu, sigma);
    double best = 0;
    for (int i = 0; i < competitors; ++i) best = std::max(best, std::exp(n(rng)));
    return best;
  }
  double value() { return std::exp(std::normal_distribution<double>(value_mu, value_sigma)(rng)); }
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng); }
  std::uint32_t draw() { return static_cast<std::uint32_t>(rng() >> 32); }

  /// The true P(win | bid).
  double win_probability(double bid) const {
    if (!(bid > 0)) return 0;
    const double z = (std::log(bid) - mu) / sigma;
    return std::pow(0.5 * std::erfc(-z / std::sqrt(2.0)), competitors);
  }
  double expected_surplus(double value, double bid) const {
    return (value - bid) * win_probability(bid);
  }
  /// The best bid for `value` by a fine grid search (the oracle).
  double best_bid(double value) const {
    double best = value, best_surplus = 0;
    for (int k = 1; k <= 2000; ++k) {
      const double b = value * k / 2000.0;
      const double s = expected_surplus(value, b);
      if (s > best_surplus) {
        best_surplus = s;
        best = b;
      }
    }
    return best;
  }
};

}  // namespace bidder::test
