// Tests of bidder/app/admin_client's streamed upload when the connection is lost: what the
// operator is told depends on whether the whole body had been sent (the bidder may then have
// applied it) or not (it applied nothing). A one-connection loopback server scripts each case.
#include "bidder/app/admin_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Accepts one connection, reads the request header, says "100 Continue", then reads up to
// `read_until` (or reads nothing more when empty) and closes without an answer.
class dropping_server {
 public:
  explicit dropping_server(std::string read_until) : until_(std::move(read_until)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~dropping_server() { thread_.join(); }
  std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }

 private:
  void serve() {
    tcp::socket socket(io_);
    acceptor_.accept(socket);
    boost::system::error_code ec;
    asio::streambuf buffer;
    asio::read_until(socket, buffer, "\r\n\r\n", ec);
    asio::write(socket, asio::buffer(std::string("HTTP/1.1 100 Continue\r\n\r\n")), ec);
    if (!until_.empty()) asio::read_until(socket, buffer, until_, ec);
    // Closing with unread bytes resets the connection, as a bidder that was killed would.
    socket.close(ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::string until_;
  std::thread thread_;
};

// A body of `pieces` chunks of 64 KiB.
bidder::app::chunk_source body_of(int pieces) {
  return [left = pieces](std::string& chunk) mutable -> bidder::result<bool> {
    if (left == 0) return false;
    --left;
    chunk.assign(64 * 1024, 'x');
    return true;
  };
}

}  // namespace

TEST_CASE("an upload cut after its last byte may have been applied; one cut before was not",
          "[app][unit]") {
  SECTION("the whole body was sent") {
    dropping_server server("0\r\n\r\n");  // reads to the last chunk, then drops
    auto reply =
        bidder::app::admin_upload({.port = server.port()}, "PUT", "/admin/audiences/s", body_of(2));
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == bidder::errc::io_error);
    CHECK_THAT(reply.error().message, Catch::Contains("may or may not have been applied"));
  }
  SECTION("the connection went during the body") {
    dropping_server server("");  // drops right after "100 Continue"
    auto reply = bidder::app::admin_upload({.port = server.port()}, "PUT", "/admin/audiences/s",
                                           body_of(200));  // 12.5 MiB
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == bidder::errc::io_error);
    CHECK_THAT(reply.error().message, Catch::Contains("the bidder applied nothing"));
  }
}
