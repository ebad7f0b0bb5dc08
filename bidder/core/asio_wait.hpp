// File: bidder/core/asio_wait.hpp
//
// A bounded wait on an io_context, for the clients that block on one of their own (the admin
// client's wait for 100 Continue, bidsim's HTTP client):
//
//   bool done = false;
//   socket.async_read_some(buffer, [&](auto, auto) { done = true; });
//   run_until(io, deadline, done);  // returns with done set, or at the deadline
//
// Not io_context::run_until or run_for: with Boost 1.81's io_uring backend (BIDDER_IO_URING),
// a time-limited wait leaves a timeout in the ring that points into a finished stack frame,
// which a later run follows (asio issue 1284). A timer of our own is safe with either backend.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace bidder {

/// Runs handlers of `io` until `done` is set (by one of them) or `deadline` passes; the
/// io_context is restarted first, and the timer's own handler has run when it returns.
inline void run_until(boost::asio::io_context& io, std::chrono::steady_clock::time_point deadline,
                      const bool& done) {
  boost::asio::steady_timer timer(io, deadline);
  bool expired = false, timer_ran = false;
  timer.async_wait([&](const boost::system::error_code& ec) {
    timer_ran = true;
    expired = !ec;
  });
  io.restart();
  while (!done && !expired && io.run_one() > 0) {
  }
  timer.cancel();
  while (!timer_ran && io.run_one() > 0) {
  }
}

}  // namespace bidder
