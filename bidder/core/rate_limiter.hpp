// File: bidder/core/rate_limiter.hpp
//
// A token bucket that refills `per_second` tokens a second and holds one second's worth, kept
// as one atomic (the generic cell rate algorithm: the time at which the bucket would be full
// again), so any thread takes a token with a compare-and-swap: no lock, no allocation, no
// system call. Times are injected (nanoseconds of any monotonic clock), so tests need no sleep.
//
//   core::rate_limiter limit(50);
//   if (!limit.try_take(now_ns)) return refuse(429);
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace bidder {

class rate_limiter {
 public:
  static constexpr std::int64_t nanos_per_second = 1'000'000'000;

  /// `per_second` 0 takes nothing.
  explicit rate_limiter(std::uint32_t per_second) noexcept { set_rate(per_second); }
  rate_limiter(const rate_limiter&) = delete;
  rate_limiter& operator=(const rate_limiter&) = delete;

  /// Changes the rate (a reload); the bucket's level is kept. Any thread.
  void set_rate(std::uint32_t per_second) noexcept {
    interval_.store(per_second == 0 ? 2 * nanos_per_second : nanos_per_second / per_second,
                    std::memory_order_relaxed);
  }

  /// Takes one token at `now_ns`; false when the bucket is empty. Any thread, lock-free.
  bool try_take(std::int64_t now_ns) noexcept {
    const std::int64_t interval = interval_.load(std::memory_order_relaxed);
    // Full again at `due`: the bucket holds (nanos_per_second - (due - now)) / interval
    // tokens, so a token is there while due - now <= nanos_per_second - interval.
    std::int64_t due = due_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t from = std::max(due, now_ns);
      if (from - now_ns > nanos_per_second - interval) return false;
      if (due_.compare_exchange_weak(due, from + interval, std::memory_order_relaxed)) return true;
    }
  }

 private:
  std::atomic<std::int64_t> interval_{nanos_per_second};
  std::atomic<std::int64_t> due_{0};
};

}  // namespace bidder
