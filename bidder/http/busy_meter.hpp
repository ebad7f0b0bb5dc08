// File: bidder/http/busy_meter.hpp
//
// Tells whether a worker thread keeps up with its connections: the share of wall time it spent
// on a CPU (CLOCK_THREAD_CPUTIME_ID, exact), sampled once per `window`. A thread that keeps up
// sleeps in epoll between requests; near 100 % it is behind, and requests queue somewhere (in
// the kernel, or in the clients' connections, where the server cannot see them). Measuring the
// thread rather than a queue works wherever the queue is. (A timer's lag, by contrast, stays
// small when a few connections carry the whole load.) Hysteresis: saturated from `on` up, until
// the share falls below `off`; a saturated worker sheds, its share drops, and it serves again:
// the share of requests shed follows the excess load.
//
//   busy_meter meter(std::chrono::milliseconds(10));
//   meter.open_for_this_thread();              // on the worker thread
//   if (meter.saturated(steady_clock::now())) shed();
//
// Time spent waiting for a CPU is not counted: on a machine short of CPU for other reasons a
// worker serves slower rather than shedding (the run-queue delay the kernel reports was tried,
// and made an idle ping-pong look saturated whenever a compiler ran next to it).
// Thread-safety: one thread, the one it was opened on.
#pragma once

#include <chrono>
#include <cstdint>

#include "bidder/core/deadline.hpp"

namespace bidder::http {

class busy_meter {
 public:
  /// `window` zero: never saturated.
  explicit busy_meter(std::chrono::microseconds window, double on = 0.9, double off = 0.8) noexcept
      : window_(window), on_(on), off_(off) {}

  /// Starts measuring the calling thread. False when `window` is zero or the thread's CPU
  /// clock cannot be read.
  bool open_for_this_thread() noexcept;
  /// True while the thread is saturated; samples when a window has passed since the last.
  bool saturated(steady_clock::time_point now) noexcept {
    if (open_ && now - window_start_ >= window_) take_sample(now);
    return saturated_;
  }
  /// One window: `busy` of `wall` spent on a CPU. Updates the state (tests feed it).
  void sample(std::chrono::nanoseconds wall, std::chrono::nanoseconds busy) noexcept;

 private:
  void take_sample(steady_clock::time_point now) noexcept;
  /// The calling thread's CPU time, ns; negative when unreadable.
  static std::int64_t read_busy_ns() noexcept;

  std::chrono::microseconds window_;
  double on_, off_;
  bool open_ = false;
  steady_clock::time_point window_start_{};
  std::int64_t busy_at_start_ = 0;
  bool saturated_ = false;
};

}  // namespace bidder::http
