// File: bench/sim/http_client.hpp
//
// A blocking HTTP/1.1 keep-alive client for bidsim, one request at a time, every request bounded
// by a timeout: bid requests to the bid port, notices and clicks, pushes and conversions to the
// admin port. Responses are framed by bench/load's http_response_reader (as bidbench does);
// this adds what bidsim needs of an answer: the body (Content-Length or chunked) and the
// Location header of a redirect. Sending requests one at a time keeps a simulation's outcome
// independent of the scheduler.
//
//   http_client c("127.0.0.1", 8080, std::chrono::milliseconds(500));
//   http_outcome r = c.send("POST", "/bid/fp-exchange", body, "application/json");
//   if (r.failure == http_failure::none && r.status == 200) parse(r.body);
//
// A request that finds its kept-alive connection closed before any byte of answer is sent once
// more on a new connection (the server may close an idle connection at any time).
//
// Thread-safety: one object per thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace bidder::sim {

enum class http_failure {
  none,
  connect,    // could not connect
  timeout,    // no whole answer within the timeout
  malformed,  // not HTTP/1.x, or over a limit
  closed,     // the connection closed before the answer was whole
};
const char* failure_name(http_failure f);

struct http_outcome {
  http_failure failure = http_failure::none;
  unsigned status = 0;
  std::string body;
  std::string location;  // the Location header, when given
};

class http_client {
 public:
  http_client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends one request and waits for its answer, at most the timeout (connecting included).
  /// `bearer`, when not empty, goes in an Authorization header.
  http_outcome send(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string_view content_type = {}, std::string_view bearer = {});

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }

 private:
  http_outcome attempt(const std::string& request, bool& retry_on_new_connection);
  bool connect(std::chrono::steady_clock::time_point deadline);
  void close();

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  bool connected_ = false;
  std::string buffer_;
};

/// Splits "http://127.0.0.1:8080/path?q" into host, port and target. Only loopback addresses
/// are accepted (bidsim never talks to other hosts). Errors: a message.
struct url_parts {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
};
bool parse_loopback_url(std::string_view url, url_parts& out, std::string& error);

}  // namespace bidder::sim
