#include "test_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <thread>
#include <vector>

namespace bidder::bench::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

constexpr std::string_view answer = "HTTP/1.1 204 No Content\r\nx-test: 1\r\n\r\n";

// Length of the first complete request in `data`, 0 when incomplete.
std::size_t request_size(const std::string& data) {
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::size_t length = 0;
  const std::size_t at = data.find("Content-Length: ");
  if (at != std::string::npos && at < end) length = std::stoul(data.substr(at + 16));
  if (data.size() < end + 4 + length) return 0;
  return end + 4 + length;
}

}  // namespace

struct test_server::impl {
  test_server_options options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> count{0};
  clock::time_point stall_until{};
  std::atomic<clock::time_point::rep> began{0};
  std::atomic<clock::time_point::rep> ended{0};

  struct conn : std::enable_shared_from_this<conn> {
    conn(impl& s, tcp::socket sock) : server(s), socket(std::move(sock)), timer(s.io) {}
    impl& server;
    tcp::socket socket;
    asio::steady_timer timer;
    std::string data;
    std::string reply;  // the answer being written
    char chunk[4096];

    void read() {
      socket.async_read_some(asio::buffer(chunk), [self = shared_from_this()](
                                                      boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        self->data.append(self->chunk, n);
        self->serve();
      });
    }
    void serve() {
      const std::size_t size = request_size(data);
      if (size == 0) return read();
      data.erase(0, size);
      const auto now = clock::now();
      const std::uint64_t number = ++server.count;
      if (server.options.never_answer) return read();
      reply = std::string(answer);
      if (const auto& statuses = server.options.statuses; !statuses.empty()) {
        const unsigned status = statuses[(number - 1) % statuses.size()];
        const bool bid = status == 200;
        reply = "HTTP/1.1 " + std::to_string(status) +
                " X\r\nContent-Length: " + (bid ? "2\r\n\r\n{}" : "0\r\n\r\n");
      }
      if (number == server.options.stall_at) {
        server.stall_until = now + server.options.stall;
        server.began = now.time_since_epoch().count();
        server.ended = server.stall_until.time_since_epoch().count();
      }
      if (now < server.stall_until) {
        timer.expires_at(server.stall_until);
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
          if (!ec) self->write();
        });
        return;
      }
      write();
    }
    void write() {
      asio::async_write(socket, asio::buffer(reply),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          if (ec) return;
                          if (self->server.options.close_after_answer) {
                            self->socket.close(ec);
                            return;
                          }
                          self->serve();
                        });
    }
  };

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true));
      std::make_shared<conn>(*this, std::move(socket))->read();
      accept();
    });
  }
};

test_server::test_server(test_server_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = options;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

test_server::~test_server() {
  asio::post(impl_->io, [this] { impl_->io.stop(); });
  impl_->thread.join();
}

std::uint16_t test_server::port() const { return impl_->port; }
std::uint64_t test_server::requests() const { return impl_->count.load(); }
clock::time_point test_server::stall_began() const {
  return clock::time_point(clock::duration(impl_->began.load()));
}
clock::time_point test_server::stall_ended() const {
  return clock::time_point(clock::duration(impl_->ended.load()));
}

std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace bidder::bench::test
