#include "bidder/http/busy_meter.hpp"

#include <time.h>

namespace bidder::http {

bool busy_meter::open_for_this_thread() noexcept {
  open_ = false;
  if (window_.count() <= 0) return false;
  busy_at_start_ = read_busy_ns();
  if (busy_at_start_ < 0) return false;
  window_start_ = steady_clock::now();
  open_ = true;
  return true;
}

std::int64_t busy_meter::read_busy_ns() noexcept {
  timespec ts{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void busy_meter::take_sample(steady_clock::time_point now) noexcept {
  const std::int64_t busy = read_busy_ns();
  if (busy < 0) return;
  sample(now - window_start_, std::chrono::nanoseconds(busy - busy_at_start_));
  window_start_ = now;
  busy_at_start_ = busy;
}

void busy_meter::sample(std::chrono::nanoseconds wall, std::chrono::nanoseconds busy) noexcept {
  if (wall.count() <= 0) return;
  const double share = static_cast<double>(busy.count()) / static_cast<double>(wall.count());
  if (share >= on_) {
    saturated_ = true;
  } else if (share < off_) {
    saturated_ = false;
  }
}

}  // namespace bidder::http
