#include "bench/load/floor_server.hpp"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstring>
#include <future>
#include <thread>
#include <unordered_set>

namespace bidder::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// The same limits as the bidder's server_options defaults, so both parse alike.
constexpr std::size_t body_limit = 256 * 1024;
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr auto idle_timeout = std::chrono::seconds(30);

class session;

// Member order matters: handlers still queued in `io` when it is destroyed own sessions, whose
// destructors erase themselves from `sessions`, so the set must outlive the io_context.
struct shared_state {
  std::unordered_set<session*> sessions;
  std::atomic<std::uint64_t> requests{0};
  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, shared_state& state) : stream_(std::move(socket)), state_(state) {
    state_.sessions.insert(this);
  }
  ~session() { state_.sessions.erase(this); }

  void start() { read_next(); }
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void read_next() {
    parser_.emplace();
    parser_->body_limit(body_limit);
    parser_->header_limit(header_limit);
    stream_.expires_after(idle_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();
    state_.requests.fetch_add(1, std::memory_order_relaxed);
    const auto& req = parser_->get();
    res_.clear();
    res_.body().clear();
    res_.version(req.version());
    res_.result(bhttp::status::no_content);
    res_.set("x-openrtb-version", "2.6");
    res_.keep_alive(req.keep_alive());
    res_.prepare_payload();
    res_.erase(bhttp::field::content_length);  // as the bidder does for a 204
    stream_.expires_after(idle_timeout);
    bhttp::async_write(stream_, res_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec || !self->res_.keep_alive()) return self->close();
                         self->read_next();
                       });
  }

  beast::tcp_stream stream_;
  shared_state& state_;
  beast::flat_buffer buffer_{8192};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
};

void accept_next(shared_state& state) {
  state.acceptor->async_accept([&state](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !state.acceptor->is_open()) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<session>(std::move(socket), state)->start();
    }
    accept_next(state);
  });
}

}  // namespace

result<void> pin_current_thread(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu >= CPU_SETSIZE)
    return make_error(errc::io_error, "cpu " + std::to_string(cpu) + ": out of range");
  CPU_SET(cpu, &set);
  if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0) {
    return make_error(errc::io_error,
                      "cannot pin to cpu " + std::to_string(cpu) + ": " + std::strerror(rc));
  }
  return {};
}

struct floor_server::impl {
  shared_state state;
  std::thread thread;
  std::uint16_t port = 0;
  bool stopped = false;
};

floor_server::floor_server(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
floor_server::~floor_server() { stop(); }

result<std::unique_ptr<floor_server>> floor_server::start(const floor_options& options) {
  auto self = std::make_unique<impl>();
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return make_error(errc::io_error, "floor server: bad address " + options.host);
  const tcp::endpoint endpoint(address, options.port);
  tcp::acceptor& acceptor = self->state.acceptor.emplace(self->state.io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(errc::io_error, "floor server: cannot listen on " + options.host + ":" +
                                          std::to_string(options.port) + ": " + ec.message());
  }
  self->port = acceptor.local_endpoint().port();
  accept_next(self->state);
  std::promise<result<void>> pinned;
  auto pinned_future = pinned.get_future();
  self->thread = std::thread([state = &self->state, cpu = options.cpu, &pinned] {
    if (cpu) {
      pinned.set_value(pin_current_thread(*cpu));
    } else {
      pinned.set_value(result<void>{});
    }
    state->io.run();
  });
  auto pin = pinned_future.get();
  std::unique_ptr<floor_server> server(new floor_server(std::move(self)));
  if (!pin) {
    server->stop();
    return pin.error();
  }
  return server;
}

std::uint16_t floor_server::port() const noexcept { return impl_->port; }

std::uint64_t floor_server::requests() const noexcept {
  return impl_->state.requests.load(std::memory_order_relaxed);
}

void floor_server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->state.io, [state = &impl_->state] {
    beast::error_code ignored;
    state->acceptor->close(ignored);
    for (session* s : state->sessions) s->close();
    state->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace bidder::bench
