// File: bench/sim/rng.hpp
//
// Counter-based random draws for the market simulator: every draw is a pure function of
// (seed, stream, index, slot), so a request's user, exchange, competitor bids, click and
// conversion draws do not depend on what any bidder answered before it, and the oracle, the
// fixed-price baseline and the real bidder meet exactly the same market (common random numbers).
// The generators and distributions are written here, not taken from <random>, whose
// distributions differ between standard libraries.
//
//   draw d{seed, stream::request, 17};
//   double u = d.uniform(0);           // [0, 1)
//   double z = d.normal(1);            // N(0, 1)
//
// Thread-safety: pure functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace bidder::sim {

/// SplitMix64's finaliser: a bijective 64-bit mix.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// What a draw is for; each has its own sequence for a seed.
enum class stream : std::uint64_t { user = 1, request = 2, competitor = 3, outcome = 4 };

struct draw {
  std::uint64_t seed = 0;
  stream kind = stream::request;
  std::uint64_t index = 0;

  std::uint64_t bits(std::uint64_t slot) const noexcept {
    return mix64(mix64(mix64(seed) ^ static_cast<std::uint64_t>(kind) * 0x632be59bd9b4e019ULL) ^
                 mix64(index) ^ (slot * 0xd1342543de82ef95ULL));
  }
  /// Uniform in [0, 1), 53 bits.
  double uniform(std::uint64_t slot) const noexcept {
    return static_cast<double>(bits(slot) >> 11) * 0x1.0p-53;
  }
  /// Standard normal (Box-Muller over two slots).
  double normal(std::uint64_t slot) const noexcept {
    const double u1 = 1.0 - uniform(2 * slot + 1000);  // (0, 1]
    const double u2 = uniform(2 * slot + 1001);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  /// Exponential with the given mean.
  double exponential(std::uint64_t slot, double mean) const noexcept {
    return -mean * std::log(1.0 - uniform(slot));
  }
};

}  // namespace bidder::sim
