// File: tests/support/raw_http_client.hpp
//
// A blocking HTTP/1.1 client connection for tests that need to control the bytes and the
// timing of each request on one connection (pipelining, a request held back, several
// connections at once): write raw bytes, read the next answer. Reads time out after 10 s
// rather than hang the suite.
//
//   bidder::test::raw_http_client client(server.port());
//   client.write("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
//   auto answer = client.read();   // status 0: the server closed the connection instead
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>

namespace bidder::test {

struct raw_http_client {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  boost::beast::flat_buffer buffer;

  explicit raw_http_client(std::uint16_t port) {
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    socket.set_option(boost::asio::ip::tcp::no_delay(true));
    const timeval bound{10, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  }
  void write(const std::string& bytes) { boost::asio::write(socket, boost::asio::buffer(bytes)); }
  /// The next answer; status 0 when the server closed the connection (or the read timed out).
  boost::beast::http::response<boost::beast::http::string_body> read() {
    // A blocking read with SO_RCVTIMEO is not restarted after an interruption, and on io_uring
    // (BIDDER_IO_URING) this thread is interrupted whenever an operation it submitted for a
    // server it started (its first accept, timers) completes: read on from where it stopped.
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    boost::beast::error_code ec;
    do {
      ec = {};
      boost::beast::http::read(socket, buffer, parser, ec);
    } while (ec == boost::asio::error::interrupted);
    auto res = parser.release();
    if (ec) res.result(0);
    return res;
  }
};

}  // namespace bidder::test
