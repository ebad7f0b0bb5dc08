#include "bidder/http/server.hpp"

#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bidder/http/busy_meter.hpp"

namespace bidder::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

class session;

struct worker {
  // Declared before `io`, so they outlive it: destroying `io` destroys the handlers it still
  // holds, and with them sessions, whose destructors leave `sessions`.
  std::unordered_set<session*> sessions;  // touched only on this worker's thread
  std::unique_ptr<handler> serve;
  asio::io_context io{1};  // one thread: lets Asio skip internal locking
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  explicit worker(const server_options& options)
      : busy(options.shed_window, options.shed_busy_share, options.shed_busy_share - 0.1) {}
  // Whether this worker keeps up with its connections (busy_meter.hpp); its thread's only.
  busy_meter busy;
  bool draining = false;
  std::thread thread;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, worker& w, const server_options& options)
      : stream_(std::move(socket)), worker_(w), options_(options) {
    worker_.sessions.insert(this);
  }
  ~session() { worker_.sessions.erase(this); }

  void start() { read_next(); }

  // At the end of a drain: closes the socket so every pending operation completes now.
  void force_close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  // Called on the worker thread when the server drains: an idle connection closes now, a busy
  // one after its current answer.
  void drain() {
    if (!busy_ && !(parser_ && parser_->got_some())) {
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
    }
  }

 private:
  void read_next() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    stream_.expires_after(options_.idle_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    if (ec == beast::error::timeout) {
      if (parser_ && parser_->got_some())
        return refuse(bhttp::status::request_timeout, "request timed out\n");
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return refuse(bhttp::status::payload_too_large, "request body too large\n");
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(bhttp::status::request_header_fields_too_large, "request headers too large\n");
    }
    if (ec) {
      return refuse(bhttp::status::bad_request, "malformed HTTP request: " + ec.message() + "\n");
    }
    busy_ = true;
    const auto arrival = steady_clock::now();
    request& req = parser_->get();
    res_.clear();
    res_.body().clear();
    res_.version(req.version());
    res_.result(bhttp::status::ok);
    if (worker_.busy.saturated(arrival) && worker_.serve->shed(req, res_)) {
      deadline_ = steady_clock::time_point::max();
    } else {
      deadline_ = worker_.serve->handle(req, arrival, res_);
    }
    res_.keep_alive(req.keep_alive() && !worker_.draining);
    res_.prepare_payload();
    // RFC 9110 section 8.6: a 204 carries no Content-Length (some exchanges are strict).
    if (res_.result() == bhttp::status::no_content) res_.erase(bhttp::field::content_length);
    stream_.expires_after(options_.idle_timeout);
    bhttp::async_write(
        stream_, res_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    if (deadline_ != steady_clock::time_point::max()) {
      worker_.serve->on_written(steady_clock::now() > deadline_);
    }
    if (ec || !res_.keep_alive() || worker_.draining) return close();
    read_next();
  }

  // Answers an error the HTTP layer found itself, then closes: after a framing error the
  // connection's byte stream cannot be trusted.
  void refuse(bhttp::status status, std::string body) {
    worker_.serve->on_refused(static_cast<unsigned>(status));
    res_.clear();
    res_.version(11);
    res_.result(status);
    res_.set(bhttp::field::content_type, "text/plain");
    res_.set(bhttp::field::connection, "close");
    res_.body() = std::move(body);
    res_.keep_alive(false);
    res_.prepare_payload();
    deadline_ = steady_clock::time_point::max();
    stream_.expires_after(std::chrono::seconds(5));
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      self->close();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  worker& worker_;
  const server_options& options_;
  // No maximum here: the parser's header and body limits bound what is read (a flat_buffer
  // maximum would turn a 10 KB header into a 400 instead of the 431 it deserves).
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  response res_;
  steady_clock::time_point deadline_ = steady_clock::time_point::max();
  bool busy_ = false;
};

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
    if (w.sessions.size() >= options.max_connections_per_thread) {
      socket.close(ignored);  // over the cap: refuse rather than run out of descriptors
    } else {
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<session>(std::move(socket), w, options)->start();
    }
    accept_next(w, options);
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
    w->thread = std::thread([wp = w.get()] {
      wp->busy.open_for_this_thread();  // without schedstat: never sheds
      wp->io.run();
    });
  }
  self.started = true;
  return {};
}

std::uint16_t server::port() const noexcept { return impl_->port; }

unsigned server::worker_count() const noexcept {
  return static_cast<unsigned>(impl_->workers.size());
}

handler& server::worker_handler(unsigned i) { return *impl_->workers.at(i)->serve; }

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
      for (session* s : wp->sessions) s->drain();
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
    std::vector<session*> left(w->sessions.begin(), w->sessions.end());
    for (session* s : left) s->force_close();
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
