// File: tests/bench/test_server.hpp
//
// A deliberately simple loopback HTTP server for the load-runner tests: it answers every
// request with an empty 204, except that it can stall (hold every answer until a moment has
// passed, using a timer on its own thread, never a sleep), never answer at all, or close each
// connection after one answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace bidder::bench::test {

struct test_server_options {
  /// The arrival of request number `stall_at` (1-based, over all connections) starts a stall:
  /// no request is answered until `stall` has passed. 0: never.
  std::uint64_t stall_at = 0;
  std::chrono::milliseconds stall{0};
  /// Read requests but never answer.
  bool never_answer = false;
  /// Close each connection right after its first answer (a keep-alive 204), as a server does
  /// with a connection it finds idle: the client learns of it only when it sends again.
  bool close_after_answer = false;
  /// Answers request n (1-based) with statuses[(n - 1) % size] (200 with a "{}" body, any
  /// other with an empty one); empty: 204 to every request.
  std::vector<unsigned> statuses{};
};

class test_server {
 public:
  explicit test_server(test_server_options options = {});
  ~test_server();
  std::uint16_t port() const;
  std::uint64_t requests() const;
  /// When the stall began and ended (valid once it happened).
  std::chrono::steady_clock::time_point stall_began() const;
  std::chrono::steady_clock::time_point stall_ended() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A loopback port nothing listens on (bound, then closed).
std::uint16_t closed_port();

}  // namespace bidder::bench::test
