#include "bidder/http/server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <cerrno>
#include <charconv>
#include <thread>
#include <vector>

#include "bidder/core/background_thread.hpp"
#include "bidder/http/detail/bid_session.hpp"
#include "bidder/http/detail/stream_session.hpp"

namespace bidder::http {
namespace {

using detail::bid_session;
using detail::session;
using detail::session_link;
using detail::stream_session;
using detail::worker;
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// At the connection cap: closes the connection with the least progress (the front of the
// worker's list, skipping the few that are answering a request). False if none may go.
bool make_room(worker& w) {
  // Those answering are few (a worker answers one request at a time; writes to slow readers are
  // bounded by idle_timeout): looking at the first 64 finds one to close, or none is.
  int left_to_look_at = 64;
  bool evicted = false;
  w.sessions.find_first([&](session_link& link) {
    auto& s = static_cast<session&>(link);
    if (s.evictable()) {
      s.evict();
      evicted = true;
    }
    return evicted || --left_to_look_at == 0;
  });
  return evicted;
}

// The connections one worker may hold: the configured cap, lowered so that all workers together
// stay under the process's descriptor limit with room for the rest of the process (stores, event
// log, the admin port), so a flood meets the cap and its eviction rather than EMFILE.
std::size_t effective_connection_cap(const server_options& options) {
  constexpr rlim_t kept_for_the_process = 1024;
  rlimit limit{};
  std::size_t cap = options.max_connections_per_thread;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    const rlim_t usable = limit.rlim_cur > 2 * kept_for_the_process
                              ? limit.rlim_cur - kept_for_the_process
                              : limit.rlim_cur / 2;
    cap = std::min<std::size_t>(cap, usable / std::max(1u, options.threads));
  }
  return std::max<std::size_t>(cap, 1);
}

void accept_next(worker& w, const server_options& options) {
  w.acceptor->async_accept([&w, &options](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) return;
    if (ec) {
      // e.g. EMFILE: retrying at once would spin a core while nothing can be accepted.
      w.accept_retry->expires_after(std::chrono::milliseconds(50));
      w.accept_retry->async_wait([&w, &options](beast::error_code wait_ec) {
        if (!wait_ec && w.acceptor->is_open()) accept_next(w, options);
      });
      return;
    }
    beast::error_code ignored;
    if (w.sessions.size() >= w.connection_cap && !make_room(w)) {
      socket.close(ignored);  // every connection is busy answering: refuse the newcomer
    } else {
      socket.set_option(tcp::no_delay(true), ignored);
      if (options.stream_bodies) {
        std::make_shared<stream_session>(std::move(socket), w, options)->start();
      } else {
        std::make_shared<bid_session>(std::move(socket), w, options)->start();
      }
    }
    accept_next(w, options);
  });
}

// Cancels the bid path's reads and writes past their deadline (session::check_deadline), a
// look at each session every `period`: one timer per worker instead of one armed and cancelled
// for every read and write.
void sweep_timeouts(worker& w, steady_clock::duration period) {
  w.sweep->expires_after(period);
  w.sweep->async_wait([&w, period](beast::error_code ec) {
    if (ec || w.draining) return;
    const auto now = steady_clock::now();
    w.sessions.for_each([now](session_link& s) { static_cast<session&>(s).check_deadline(now); });
    sweep_timeouts(w, period);
  });
}

}  // namespace

struct server::impl {
  server_options options;
  std::function<std::unique_ptr<handler>(unsigned)> make_handler;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::uint16_t port = 0;
  bool started = false;
  bool draining = false;
  bool drained = false;
};

server::server(server_options options,
               std::function<std::unique_ptr<handler>(unsigned)> make_handler)
    : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.threads == 0) impl_->options.threads = 1;
  impl_->make_handler = std::move(make_handler);
}

server::~server() { drain(std::chrono::milliseconds(1000)); }

result<void> server::start() {
  impl& self = *impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(self.options.host, ec);
  if (ec)
    return make_error(errc::invalid_config, "bad listen address \"" + self.options.host + "\"");
  std::uint16_t port = self.options.port;
  for (unsigned i = 0; i < self.options.threads; ++i) {
    auto w = std::make_unique<worker>(self.options);
    w->connection_cap = effective_connection_cap(self.options);
    w->serve = self.make_handler(i);
    tcp::acceptor& acceptor = w->acceptor.emplace(w->io);
    const tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && self.options.threads > 1) {
      // Every worker binds the same port; the kernel spreads connections across them. (Only
      // then: SO_REUSEPORT would also let a second process share the port silently, so a
      // single-acceptor server such as the admin port keeps failing loudly on a busy port.)
      const int one = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec && !self.options.stream_bodies && self.options.shed_queued.count() > 0) {
      // The kernel stamps each segment with the time it arrived (CLOCK_REALTIME); the session's
      // reads return it (stamped_read_op), telling how long a request waited for its worker.
      // Set on the listener, which each accepted socket inherits it from, so that the bytes that
      // arrive before the worker accepts the connection (a new connection's first request while
      // the worker is busy) are stamped too. Best effort: without stamps every request counts
      // as not having waited.
      const int on = 1;
      ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return make_error(errc::io_error, "cannot listen on " + self.options.host + ":" +
                                            std::to_string(port) + ": " + ec.message());
    }
    port = acceptor.local_endpoint().port();  // with port 0, the others join the first's port
    self.workers.push_back(std::move(w));
  }
  self.port = port;
  for (auto& w : self.workers) {
    self.guards.emplace_back(asio::make_work_guard(w->io));
    w->accept_retry.emplace(w->io);
    accept_next(*w, self.options);
    if (!self.options.stream_bodies) {
      // Timeouts fire up to a quarter of the shorter timeout (at most 250 ms) late.
      w->sweep.emplace(w->io);
      const auto shortest = std::min(self.options.idle_timeout, self.options.request_timeout);
      sweep_timeouts(*w,
                     std::clamp<steady_clock::duration>(shortest / 4, std::chrono::milliseconds(1),
                                                        std::chrono::milliseconds(250)));
    }
    w->thread = std::thread([wp = w.get(), background = self.options.background_threads] {
      if (background) {
        yield_to_bid_threads(background_priority::idle);
      } else {
        prefer_short_slices();
      }
      wp->busy.open_for_this_thread();
      wp->io.run();
    });
  }
  self.started = true;
  return {};
}

std::uint16_t server::port() const noexcept { return impl_->port; }

void server::drain(std::chrono::milliseconds grace) {
  begin_drain();
  finish_drain(steady_clock::now() + grace);
}

void server::begin_drain() {
  impl& self = *impl_;
  if (!self.started || self.draining) return;
  self.draining = true;
  for (auto& w : self.workers) {
    asio::post(w->io, [wp = w.get()] {
      wp->draining = true;
      beast::error_code ignored;
      wp->acceptor->close(ignored);
      wp->accept_retry->cancel();
      if (wp->sweep) wp->sweep->cancel();
      wp->sessions.for_each([](session_link& s) { static_cast<session&>(s).drain(); });
    });
  }
  for (auto& guard : self.guards) guard.reset();
}

void server::finish_drain(steady_clock::time_point until) {
  impl& self = *impl_;
  if (!self.started || self.drained) return;
  begin_drain();
  self.drained = true;
  // Wait for the workers to run out of work, then cut what is left.
  for (auto& w : self.workers) {
    while (!w->io.stopped() && steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    w->io.stop();
  }
  for (auto& w : self.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Sessions cut at the deadline still sit in their io_context: close their sockets and let
  // their handlers run once, so each is destroyed while its worker is still alive.
  for (auto& w : self.workers) {
    w->sessions.for_each([](session_link& s) { static_cast<session&>(s).force_close(); });
    w->io.restart();
    w->io.poll();
  }
}

result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return make_error(errc::invalid_config,
                      "\"" + std::string(text) + "\": expected HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const std::string_view digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port > 65535) {
    return make_error(errc::invalid_config, "\"" + std::string(text) + "\": bad port");
  }
  if (host.empty()) host = "0.0.0.0";
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(port));
}

}  // namespace bidder::http
