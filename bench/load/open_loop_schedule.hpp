// File: bench/load/open_loop_schedule.hpp
//
// When each request of an open-loop run is due. Request i of a run at `rate` requests/s that
// starts at `start` is due at start + i / rate, computed from i every time (never by adding
// intervals, which would accumulate rounding), and independent of when earlier requests were
// answered: a server that stalls cannot push the schedule back. Latency is then measured from
// this scheduled time, so the time a request spent waiting for a free connection counts too
// (the "coordinated omission" correction of wrk2 and HdrHistogram).
//
//   open_loop_schedule s(steady_clock::now(), 50'000, std::chrono::seconds(10));
//   for (std::uint64_t i = 0; i < s.due_by(now); ++i) ... s.at(i) ...
//
// Thread-safety: immutable after construction.
#pragma once

#include <chrono>
#include <cstdint>

namespace bidder::bench {

class open_loop_schedule {
 public:
  using clock = std::chrono::steady_clock;

  /// `rate` requests per second (> 0) for `length`; total() = floor(rate * length).
  open_loop_schedule(clock::time_point start, std::uint64_t rate, clock::duration length) noexcept
      : start_(start), rate_(rate), total_(total_for(rate, length)) {}

  clock::time_point start() const noexcept { return start_; }
  std::uint64_t rate() const noexcept { return rate_; }
  /// Number of requests in the run.
  std::uint64_t total() const noexcept { return total_; }
  /// When request `i` is due.
  clock::time_point at(std::uint64_t i) const noexcept {
    // In 64 bits i * 1e9 would wrap after 1.8e10 requests (30 minutes at 10M/s).
    return start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                        static_cast<unsigned __int128>(i) * nanos_per_second / rate_));
  }
  /// How many requests are due at `now` (those with at(i) <= now), at most total().
  std::uint64_t due_by(clock::time_point now) const noexcept {
    if (now < start_) return 0;
    const auto elapsed = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count());
    // Requests with floor(i * 1e9 / rate) <= elapsed are those with i * 1e9 < (elapsed + 1) *
    // rate: ceil((elapsed + 1) * rate / 1e9) of them. __int128 keeps the product exact.
    const auto due = static_cast<std::uint64_t>(
        ((static_cast<unsigned __int128>(elapsed) + 1) * rate_ + (nanos_per_second - 1)) /
        nanos_per_second);
    return due < total_ ? due : total_;
  }

 private:
  static constexpr std::uint64_t nanos_per_second = 1'000'000'000;
  static std::uint64_t total_for(std::uint64_t rate, clock::duration length) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(length).count();
    if (ns <= 0 || rate == 0) return 0;
    return static_cast<std::uint64_t>(static_cast<unsigned __int128>(ns) * rate / nanos_per_second);
  }

  clock::time_point start_;
  std::uint64_t rate_;
  std::uint64_t total_;
};

}  // namespace bidder::bench
