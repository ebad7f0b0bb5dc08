#include "bench/load/load_runner.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "bench/load/http_response_reader.hpp"
#include "bench/load/open_loop_schedule.hpp"

namespace bidder::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using boost::system::error_code;

/// How often in-flight requests are checked against the timeout. Timeouts are reported late by
/// at most this much; a per-request timer would cost more than the request itself.
constexpr auto sweep_interval = std::chrono::milliseconds(10);
/// Reconnect back-off after a failed connect: doubles from 1 ms up to this.
constexpr auto max_backoff = std::chrono::milliseconds(100);
/// Initial receive buffer per connection; grows for large answers.
constexpr std::size_t initial_buffer_bytes = 16 * 1024;

enum class conn_state { connecting, idle, busy, closed };

struct connection {
  explicit connection(asio::io_context& io) : socket(io), retry(io) {}
  tcp::socket socket;
  asio::steady_timer retry;
  std::string buffer = std::string(initial_buffer_bytes, '\0');
  std::size_t used = 0;
  conn_state state = conn_state::closed;
  std::uint64_t generation = 0;  // bumped at close: completions of older operations are stale
  std::chrono::milliseconds backoff{0};
  // The request in flight.
  std::uint64_t seq = 0;
  clock::time_point scheduled;
  clock::time_point sent;
  std::chrono::nanoseconds tmax{0};
  bool recorded = false;
  // An answer came on this socket before: a request that then finds it closed, without a byte
  // of answer, raced the server's close of an idle keep-alive connection.
  bool reused = false;
  bool resent = false;  // the request in flight is such a request, sent again on a new socket
};

class load_run {
 public:
  load_run(const load_options& options, const request_pool& pool)
      : options_(options),
        pool_(pool),
        endpoint_(asio::ip::make_address(options.target.host), options.target.port),
        pump_timer_(io_),
        cpu_timer_(io_),
        sweep_timer_(io_),
        end_timer_(io_),
        drain_timer_(io_),
        schedule_(clock::now(), 1, clock::duration::zero()) {}

  result<load_result> run() {
    result_.offered_rate = options_.rate;
    result_.connections = options_.connections;
    for (unsigned i = 0; i < options_.connections; ++i) {
      connections_.push_back(std::make_unique<connection>(io_));
    }
    pending_initial_ = options_.connections;
    for (auto& c : connections_) connect(*c, /*initial=*/true);
    io_.run();
    if (!started_) {
      return make_error(errc::io_error, "cannot connect to " + options_.target.url + ": " +
                                            (result_.last_error.empty() ? std::string("no answer")
                                                                        : result_.last_error));
    }
    return std::move(result_);
  }

 private:
  // --- connections -----------------------------------------------------------------------

  // `resend`: the connection's request in flight goes out again once connected (see fail()).
  void connect(connection& c, bool initial, bool resend = false) {
    c.state = resend ? conn_state::busy : conn_state::connecting;
    const std::uint64_t gen = c.generation;
    c.socket.async_connect(endpoint_, [this, &c, gen, initial, resend](const error_code& ec) {
      if (gen != c.generation) return;
      if (initial) --pending_initial_;
      if (finished_) return;
      if (ec) {
        ++result_.counts.connect_failures;
        if (resend) return fail(c, ec);  // the request fails for good (c.resent is set)
        result_.last_error = ec.message();
        close(c);
        // At start a failure waits for the others: with none connected the run is refused
        // (reported, not retried); otherwise maybe_begin() retries it.
        if (initial) return maybe_begin();
        retry_later(c);
        return;
      }
      ++result_.counts.connects;
      error_code ignored;
      c.socket.set_option(tcp::no_delay(true), ignored);
      c.backoff = std::chrono::milliseconds(0);
      if (resend) return write_request(c);
      c.state = conn_state::idle;
      if (initial) {
        maybe_begin();
      } else {
        on_idle(c, clock::now());
      }
    });
  }

  void retry_later(connection& c) {
    c.backoff = std::min<std::chrono::milliseconds>(
        max_backoff, std::max(std::chrono::milliseconds(1), c.backoff * 2));
    c.retry.expires_after(c.backoff);
    const std::uint64_t gen = c.generation;
    c.retry.async_wait([this, &c, gen](const error_code& ec) {
      if (ec || gen != c.generation || finished_) return;
      connect(c, false);
    });
  }

  void close(connection& c) {
    ++c.generation;
    error_code ignored;
    c.socket.close(ignored);
    c.used = 0;
    c.reused = false;
    c.state = conn_state::closed;
  }

  void reopen(connection& c) {
    close(c);
    if (finished_) return;
    connect(c, false);
  }

  // --- the run -------------------------------------------------------------------------

  // Starts the clock once every initial connect has finished, if any succeeded.
  void maybe_begin() {
    if (pending_initial_ > 0 || started_) return;
    const bool any = std::any_of(connections_.begin(), connections_.end(),
                                 [](const auto& c) { return c->state == conn_state::idle; });
    if (!any) {
      finished_ = true;
      io_.stop();
      return;
    }
    started_ = true;
    const clock::time_point t0 = clock::now();
    measure_start_ = t0 + options_.warmup;
    end_ = measure_start_ + options_.duration;
    if (options_.rate > 0) {
      schedule_ = open_loop_schedule(t0, options_.rate, options_.warmup + options_.duration);
      // Requests due before the warm-up ends are sent but not recorded.
      first_recorded_ = options_.warmup.count() > 0
                            ? schedule_.due_by(measure_start_ - std::chrono::nanoseconds(1))
                            : 0;
    }
    if (options_.warmup.count() > 0) {
      cpu_timer_.expires_at(measure_start_);
      cpu_timer_.async_wait([this](const error_code& ec) {
        if (!ec) cpu_before_ = take_cpu_snapshot(options_.server_pid);
      });
    } else {
      cpu_before_ = take_cpu_snapshot(options_.server_pid);
    }
    end_timer_.expires_at(end_);
    end_timer_.async_wait([this](const error_code& ec) {
      if (!ec) on_end();
    });
    arm_sweep();
    for (auto& c : connections_) {
      if (c->state == conn_state::idle) idle_.push_back(c.get());
      if (c->state == conn_state::closed) retry_later(*c);
    }
    pump(clock::now());
  }

  void on_idle(connection& c, clock::time_point now) {
    c.state = conn_state::idle;
    if (finished_) return;
    idle_.push_back(&c);
    pump(now);
    maybe_finish();
  }

  // Hands due requests to idle connections; arms the timer for the next one.
  void pump(clock::time_point now) {
    if (!started_ || finished_) return;
    if (options_.rate == 0) {
      while (!ending_ && !idle_.empty()) {
        connection* c = pop_idle();
        if (c != nullptr) send(*c, next_seq_++, now, now);
      }
      return;
    }
    const std::uint64_t due = schedule_.due_by(now);
    while (next_seq_ < due && !idle_.empty()) {
      connection* c = pop_idle();
      if (c == nullptr) break;
      const std::uint64_t seq = next_seq_++;
      send(*c, seq, schedule_.at(seq), now);
    }
    if (next_seq_ < schedule_.total() && !idle_.empty()) arm_pump(schedule_.at(next_seq_));
  }

  connection* pop_idle() {
    while (!idle_.empty()) {
      connection* c = idle_.back();
      idle_.pop_back();
      if (c->state == conn_state::idle) return c;  // skip entries of connections since closed
    }
    return nullptr;
  }

  void arm_pump(clock::time_point at) {
    if (pump_armed_ && pump_at_ <= at) return;
    pump_armed_ = true;
    pump_at_ = at;
    pump_timer_.expires_at(at);
    pump_timer_.async_wait([this](const error_code& ec) {
      if (ec) return;  // re-armed or cancelled
      pump_armed_ = false;
      pump(clock::now());
    });
  }

  void send(connection& c, std::uint64_t seq, clock::time_point scheduled, clock::time_point now) {
    const prepared_request& request = pool_[seq % pool_.size()];
    c.state = conn_state::busy;
    c.seq = seq;
    c.resent = false;
    c.scheduled = scheduled;
    c.sent = now;
    c.tmax = request.tmax;
    c.recorded = options_.rate > 0 ? seq >= first_recorded_ : now >= measure_start_;
    ++in_flight_;
    if (c.recorded) {
      ++result_.counts.sent;
      result_.send_lag.record(now - scheduled);
    }
    if (options_.on_send_for_test) options_.on_send_for_test(seq, scheduled, now);
    write_request(c);
  }

  void write_request(connection& c) {
    const prepared_request& request = pool_[c.seq % pool_.size()];
    const std::uint64_t gen = c.generation;
    asio::async_write(c.socket, asio::buffer(request.bytes),
                      [this, &c, gen](const error_code& ec, std::size_t n) {
                        if (gen != c.generation) return;
                        if (ec) return fail(c, ec);
                        result_.bytes_sent += n;
                        read(c);
                      });
  }

  void read(connection& c) {
    if (c.used == c.buffer.size()) c.buffer.resize(c.buffer.size() * 2);
    const std::uint64_t gen = c.generation;
    c.socket.async_read_some(
        asio::buffer(c.buffer.data() + c.used, c.buffer.size() - c.used),
        [this, &c, gen](const error_code& ec, std::size_t n) {
          if (gen != c.generation) return;
          const clock::time_point now = clock::now();
          c.used += n;
          result_.bytes_received += n;
          parsed_response response;
          const parse_state state =
              parse_response(std::string_view(c.buffer.data(), c.used), response);
          if (ec == asio::error::eof && state == parse_state::incomplete && response.until_close) {
            response.size = c.used;
            complete(c, response.status, now);
            return reopen(c);
          }
          if (ec) return fail(c, ec);
          if (state == parse_state::malformed) {
            return fail(c, make_error_code(boost::system::errc::protocol_error));
          }
          if (state == parse_state::incomplete) return read(c);
          complete(c, response.status, now);
          // No pipelining: anything after the response is unexpected, and dropped.
          c.used = 0;
          if (!response.keep_alive) return reopen(c);
          c.reused = true;
          on_idle(c, now);
        });
  }

  void complete(connection& c, unsigned status, clock::time_point now) {
    --in_flight_;
    if (!c.recorded) return;
    load_counts& n = result_.counts;
    if (status == 200) {
      ++n.bids;
    } else if (status == 204) {
      ++n.no_bids;
    } else if (status >= 400 && status < 500) {
      ++n.client_errors;
    } else if (status >= 500 && status < 600) {
      ++n.server_errors;
    } else {
      ++n.other_status;
    }
    result_.latency.record(now - c.scheduled);
    result_.service_time.record(now - c.sent);
    if (now - c.sent > c.tmax) ++n.deadline_misses;
    if (now - c.scheduled > c.tmax) ++n.schedule_misses;
    if (now > last_answer_) last_answer_ = now;
  }

  // A request given up on still took at least this long: it counts in the latency figures
  // (an answer that never came must not make the percentiles look better).
  void record_timeout(const connection& c, clock::time_point now) {
    ++result_.counts.timeouts;
    result_.latency.record(now - c.scheduled);
  }

  void fail(connection& c, const error_code& ec) {
    // A server may close a keep-alive connection it found idle just as a request goes out on
    // it (RFC 9112, section 9.3.1): with no byte of answer, the request is sent once more on
    // a new connection, as HTTP clients do, rather than counted as an error. Its latency keeps
    // running from its scheduled time.
    const bool stale = ec == asio::error::eof || ec == asio::error::connection_reset ||
                       ec == asio::error::broken_pipe;
    if (c.state == conn_state::busy && c.reused && c.used == 0 && stale && !c.resent &&
        !finished_) {
      if (c.recorded) ++result_.counts.resent;
      close(c);
      c.resent = true;
      return connect(c, /*initial=*/false, /*resend=*/true);
    }
    if (c.state == conn_state::busy) {
      --in_flight_;
      if (c.recorded) ++result_.counts.connection_errors;
    }
    result_.last_error = ec.message();
    reopen(c);
    maybe_finish();
  }

  void arm_sweep() {
    sweep_timer_.expires_after(sweep_interval);
    sweep_timer_.async_wait([this](const error_code& ec) {
      if (ec || finished_) return;
      const clock::time_point now = clock::now();
      for (auto& c : connections_) {
        if (c->state == conn_state::busy && now - c->sent > options_.timeout) {
          --in_flight_;
          if (c->recorded) record_timeout(*c, now);
          reopen(*c);
        }
      }
      maybe_finish();
      if (!finished_) arm_sweep();
    });
  }

  void on_end() {
    ending_ = true;
    result_.cpu = cpu_usage_between(cpu_before_, take_cpu_snapshot(options_.server_pid));
    drain_timer_.expires_at(end_ + options_.timeout);
    drain_timer_.async_wait([this](const error_code& ec) {
      if (!ec) finish();
    });
    maybe_finish();
  }

  void maybe_finish() {
    if (!ending_ || finished_ || in_flight_ > 0) return;
    if (options_.rate > 0 && next_seq_ < schedule_.total()) return;  // backlog still to send
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    load_counts& n = result_.counts;
    const clock::time_point now = clock::now();
    for (auto& c : connections_) {
      if (c->state == conn_state::busy && c->recorded) record_timeout(*c, now);  // cut by the end
    }
    if (options_.rate > 0) {
      n.scheduled = schedule_.total() - first_recorded_;
      n.unsent = schedule_.total() - std::max(next_seq_, first_recorded_);
    } else {
      n.scheduled = n.sent;
    }
    const clock::time_point window_end = std::max(end_, last_answer_);
    result_.elapsed = window_end - measure_start_;
    const double seconds = std::chrono::duration<double>(result_.elapsed).count();
    result_.achieved_rate = seconds > 0 ? static_cast<double>(n.answered()) / seconds : 0;
    for (auto& c : connections_) {
      close(*c);
      c->retry.cancel();
    }
    pump_timer_.cancel();
    cpu_timer_.cancel();
    sweep_timer_.cancel();
    end_timer_.cancel();
    drain_timer_.cancel();
    io_.stop();
  }

  const load_options& options_;
  const request_pool& pool_;
  asio::io_context io_{1};
  tcp::endpoint endpoint_;
  std::vector<std::unique_ptr<connection>> connections_;
  std::vector<connection*> idle_;
  asio::steady_timer pump_timer_;
  asio::steady_timer cpu_timer_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer end_timer_;
  asio::steady_timer drain_timer_;
  open_loop_schedule schedule_;
  cpu_snapshot cpu_before_;
  std::uint64_t first_recorded_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t in_flight_ = 0;
  unsigned pending_initial_ = 0;
  bool pump_armed_ = false;
  clock::time_point pump_at_;
  clock::time_point measure_start_;
  clock::time_point end_;
  clock::time_point last_answer_;
  bool started_ = false;
  bool ending_ = false;
  bool finished_ = false;
  load_result result_;
};

}  // namespace

result<load_result> run_load(const load_options& options, const request_pool& pool) {
  if (pool.empty()) return make_error(errc::invalid_field, "no requests to send");
  if (options.connections == 0 || options.connections > max_connections) {
    return make_error(errc::invalid_field,
                      "connections must be 1 to " + std::to_string(max_connections));
  }
  if (options.rate > max_rate) {
    return make_error(errc::invalid_field, "rate must be at most " + std::to_string(max_rate));
  }
  if (options.duration.count() <= 0) return make_error(errc::invalid_field, "duration must be > 0");
  if (options.timeout.count() <= 0) return make_error(errc::invalid_field, "timeout must be > 0");
  boost::system::error_code ec;
  asio::ip::make_address(options.target.host, ec);
  if (ec) return make_error(errc::invalid_field, "bad target address " + options.target.host);
  // Linux delays timer wake-ups by up to 50 us by default to batch them; a load generator wants
  // its sends on time, so the slack is cut to 1 ns for the run and restored after.
  const int old_slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  if (old_slack >= 0) ::prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  load_run run(options, pool);
  auto result = run.run();
  if (old_slack >= 0) ::prctl(PR_SET_TIMERSLACK, old_slack, 0, 0, 0);
  return result;
}

}  // namespace bidder::bench
