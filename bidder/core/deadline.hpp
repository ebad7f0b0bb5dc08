// File: bidder/core/deadline.hpp
//
// Time on the bid path. Every stage gets the request's deadline and checks it; callers pass
// `now` in, so logic is testable with any clock (no hidden clock reads in pure code).
//
//   bidder::deadline d(arrival + 80ms);
//   if (d.expired(bidder::steady_clock::now())) return no_bid(reason::deadline);
#pragma once

#include <chrono>
#include <cstdint>

namespace bidder {

using steady_clock = std::chrono::steady_clock;

class deadline {
 public:
  deadline() = default;
  explicit deadline(steady_clock::time_point at) : at_(at) {}
  steady_clock::time_point at() const noexcept { return at_; }
  bool expired(steady_clock::time_point now) const noexcept { return now >= at_; }
  steady_clock::duration left(steady_clock::time_point now) const noexcept { return at_ - now; }

 private:
  steady_clock::time_point at_ = steady_clock::time_point::max();
};

/// Wall-clock seconds since the UNIX epoch: flight dates, recency windows, hour of day.
using unix_seconds = std::int64_t;

inline unix_seconds wall_now() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace bidder
