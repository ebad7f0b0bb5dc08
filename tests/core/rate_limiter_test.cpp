#include "bidder/core/rate_limiter.hpp"

#include <catch2/catch.hpp>

using bidder::rate_limiter;

TEST_CASE("a token bucket holds one second's worth and refills at its rate", "[core][unit]") {
  constexpr std::int64_t second = rate_limiter::nanos_per_second;
  rate_limiter limit(4);
  const std::int64_t t0 = 1'000 * second;
  for (int i = 0; i < 4; ++i) CHECK(limit.try_take(t0));
  CHECK_FALSE(limit.try_take(t0));
  CHECK_FALSE(limit.try_take(t0 + second / 4 - 1));
  CHECK(limit.try_take(t0 + second / 4));  // one token back after a quarter second
  CHECK_FALSE(limit.try_take(t0 + second / 4));
  // Idle for long: full again, never more than one second's worth.
  for (int i = 0; i < 4; ++i) CHECK(limit.try_take(t0 + 60 * second));
  CHECK_FALSE(limit.try_take(t0 + 60 * second));
}

TEST_CASE("a rate change keeps the bucket and a zero rate takes nothing", "[core][unit]") {
  constexpr std::int64_t second = rate_limiter::nanos_per_second;
  rate_limiter limit(1);
  CHECK(limit.try_take(5 * second));
  CHECK_FALSE(limit.try_take(5 * second));
  limit.set_rate(0);
  CHECK_FALSE(limit.try_take(100 * second));
}
