// File: bench/load/load_runner.hpp
//
// One load run: `connections` HTTP/1.1 keep-alive connections to one target, driven from the
// calling thread's own io_context, for a bounded time.
//
// Open loop (rate > 0): request i is due at start + i / rate (open_loop_schedule), whatever
// happened to earlier requests. A due request goes out on an idle connection at once; when
// every connection is busy it waits, and its latency keeps counting from its scheduled time, so
// a stalled server shows its stall instead of slowing the generator down (coordinated
// omission). Closed loop (rate == 0, `--rate max`): every connection sends its next request as
// soon as the previous answer arrives; latency is then measured from the send.
//
// Every sent request ends in exactly one of: an HTTP status (200, 204, 4xx, 5xx, other), a
// connection error, or a timeout (no answer within `timeout` of its send, or still unanswered
// when the run is cut `timeout` after its end). So counts.sent == counts.accounted() always.
//
//   load_options o{.target = *parse_target(url), .rate = 20'000, .duration = 10s};
//   auto r = run_load(o, pool);
//   if (r) std::cout << r->latency.percentile(99).count() << " ns\n";
//
// Thread-safety: run_load() blocks its caller; concurrent calls are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "bench/load/cpu_usage.hpp"
#include "bench/load/latency_histogram.hpp"
#include "bench/load/request_pool.hpp"
#include "bidder/core/error.hpp"

namespace bidder::bench {

struct load_options {
  http_target target;
  /// Requests per second; 0: closed loop (as fast as the answers come back).
  std::uint64_t rate = 0;
  /// Measured time, after `warmup`.
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  /// Traffic sent first and not recorded (lets caches, connections and the CPU settle).
  std::chrono::nanoseconds warmup = std::chrono::nanoseconds(0);
  /// Keep-alive connections (at most this many requests in flight, HTTP/1.1 has no pipelining).
  unsigned connections = 64;
  /// A request unanswered this long after its send is a timeout (its connection is closed and
  /// reopened). Also how long the run waits for in-flight answers after `duration`.
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);
  /// The server's process id, when it runs on this machine: its CPU time is then reported.
  int server_pid = 0;
  /// Test hook: called at every send with the request's sequence number, scheduled time and
  /// actual send time.
  std::function<void(std::uint64_t, std::chrono::steady_clock::time_point,
                     std::chrono::steady_clock::time_point)>
      on_send_for_test;
};

/// Limits of load_options, checked by run_load (named so error messages and flags agree).
inline constexpr unsigned max_connections = 20'000;
inline constexpr std::uint64_t max_rate = 10'000'000;

struct load_counts {
  /// Open loop: requests due inside the measured window (sent + unsent). Closed loop: sent.
  std::uint64_t scheduled = 0;
  std::uint64_t sent = 0;
  std::uint64_t bids = 0;           // 200
  std::uint64_t no_bids = 0;        // 204
  std::uint64_t client_errors = 0;  // 4xx
  std::uint64_t server_errors = 0;  // 5xx
  std::uint64_t other_status = 0;   // 1xx, 3xx, 2xx other than 200/204
  std::uint64_t connection_errors = 0;
  std::uint64_t timeouts = 0;
  /// Answered more than the request's tmax after it was sent (the server's own lateness).
  std::uint64_t deadline_misses = 0;
  /// Answered more than tmax after it was scheduled (adds time queued for a free connection).
  std::uint64_t schedule_misses = 0;
  /// Open loop: due but never sent (every connection busy until the run was cut).
  std::uint64_t unsent = 0;
  /// Requests sent again on a new connection because the server had closed the idle one they
  /// went out on (no byte of answer; each counts once in `sent`).
  std::uint64_t resent = 0;
  /// Connections opened (initial and re-opened) and attempts that failed.
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;

  std::uint64_t answered() const noexcept {
    return bids + no_bids + client_errors + server_errors + other_status;
  }
  std::uint64_t accounted() const noexcept { return answered() + connection_errors + timeouts; }
};

struct load_result {
  std::uint64_t offered_rate = 0;  // 0: closed loop
  unsigned connections = 0;
  load_counts counts;
  /// From each request's scheduled time to its answer (closed loop: from its send). A timed-out
  /// request counts too, with the time it was given up at: at least --timeout.
  latency_histogram latency;
  /// From the actual send to the answer (what a closed-loop tool would report).
  latency_histogram service_time;
  /// From the scheduled time to the actual send: time waiting for a free connection, plus the
  /// generator's own lateness.
  latency_histogram send_lag;
  /// The measured window: from the end of the warm-up to the end of the run or the last
  /// answer, whichever is later.
  std::chrono::nanoseconds elapsed{0};
  /// Answers (any HTTP status) per second over `elapsed`.
  double achieved_rate = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  /// The last connection error seen, for the report ("" when none).
  std::string last_error;
  /// How busy the CPUs were during the measured window (warm-up and drain excluded).
  cpu_usage cpu;
};

/// Runs the load. Errors: invalid_field (empty pool, bad options), io_error (no connection
/// could be opened at start, with the reason, e.g. "connection refused").
[[nodiscard]] result<load_result> run_load(const load_options& options, const request_pool& pool);

}  // namespace bidder::bench
