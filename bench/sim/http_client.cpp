// File: bench/sim/http_client.cpp
#include "bench/sim/http_client.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <functional>

#include "bench/load/http_response_reader.hpp"
#include "bidder/core/asio_wait.hpp"

namespace bidder::sim {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

bool iequals_prefix(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lower_prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  return v;
}

// The body of a complete response: headers end at the blank line; chunked bodies are joined.
void extract(std::string_view whole, http_outcome& out) {
  const std::size_t header_end = whole.find("\r\n\r\n");
  if (header_end == std::string_view::npos) return;
  const std::string_view headers = whole.substr(0, header_end);
  std::string_view body = whole.substr(header_end + 4);
  bool chunked = false;
  std::size_t pos = headers.find("\r\n");
  while (pos != std::string_view::npos && pos < headers.size()) {
    const std::size_t next = headers.find("\r\n", pos + 2);
    const std::string_view line = headers.substr(
        pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    if (iequals_prefix(line, "location:")) out.location = std::string(trim(line.substr(9)));
    if (iequals_prefix(line, "transfer-encoding:") &&
        trim(line.substr(18)).find("chunked") != std::string_view::npos) {
      chunked = true;
    }
    pos = next;
  }
  if (!chunked) {
    out.body.assign(body);
    return;
  }
  // The framer has checked the chunk syntax already.
  while (!body.empty()) {
    const std::size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) break;
    std::size_t size = 0;
    for (char c : body.substr(0, eol)) {
      if (c == ';') break;  // a chunk extension
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d >= 0) size = size * 16 + static_cast<std::size_t>(d);
    }
    if (size == 0 || size > body.size()) break;
    out.body.append(body.substr(eol + 2, size));
    body.remove_prefix(std::min(body.size(), eol + 2 + size + 2));
  }
}

}  // namespace

const char* failure_name(http_failure f) {
  switch (f) {
    case http_failure::none:
      return "none";
    case http_failure::connect:
      return "connect";
    case http_failure::timeout:
      return "timeout";
    case http_failure::malformed:
      return "malformed";
    case http_failure::closed:
      return "closed";
  }
  return "?";
}

http_client::http_client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout), socket_(io_) {}

http_client::~http_client() { close(); }

void http_client::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  connected_ = false;
  buffer_.clear();
}

bool http_client::connect(std::chrono::steady_clock::time_point deadline) {
  close();
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host_, ec);
  if (ec) return false;
  bool done = false;
  socket_.async_connect(tcp::endpoint(address, port_), [&](const boost::system::error_code& e) {
    done = true;
    ec = e;
  });
  bidder::run_until(io_, deadline, done);
  if (!done) {
    close();
    io_.restart();
    io_.run();
    return false;
  }
  if (ec) {
    close();
    return false;
  }
  socket_.set_option(tcp::no_delay(true), ec);
  connected_ = true;
  return true;
}

http_outcome http_client::send(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view content_type,
                               std::string_view bearer) {
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  request.append(host_).append(":").append(std::to_string(port_)).append("\r\n");
  if (!content_type.empty()) request.append("Content-Type: ").append(content_type).append("\r\n");
  if (!bearer.empty()) request.append("Authorization: Bearer ").append(bearer).append("\r\n");
  if (method != "GET" || !body.empty()) {
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);
  bool retry = false;
  http_outcome out = attempt(request, retry);
  if (retry) out = attempt(request, retry);
  return out;
}

http_outcome http_client::attempt(const std::string& request, bool& retry_on_new_connection) {
  const bool reused = connected_;
  retry_on_new_connection = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  http_outcome out;
  if (!connected_ && !connect(deadline)) {
    out.failure = std::chrono::steady_clock::now() >= deadline ? http_failure::timeout
                                                               : http_failure::connect;
    return out;
  }
  buffer_.clear();
  bool finished = false;
  bool any_byte = false;
  bidder::bench::parsed_response parsed;
  std::array<char, 16 * 1024> chunk{};
  std::function<void()> read_more;
  read_more = [&] {
    socket_.async_read_some(asio::buffer(chunk),
                            [&](const boost::system::error_code& ec, std::size_t n) {
                              if (n > 0) any_byte = true;
                              buffer_.append(chunk.data(), n);
                              const auto state = bidder::bench::parse_response(buffer_, parsed);
                              if (state == bidder::bench::parse_state::complete) {
                                finished = true;
                                return;
                              }
                              if (state == bidder::bench::parse_state::malformed) {
                                out.failure = http_failure::malformed;
                                finished = true;
                                return;
                              }
                              if (ec) {
                                if (ec == asio::error::eof && parsed.until_close) {
                                  parsed.size = buffer_.size();
                                  finished = true;
                                  parsed.keep_alive = false;
                                  return;
                                }
                                out.failure = http_failure::closed;
                                finished = true;
                                return;
                              }
                              read_more();
                            });
  };
  asio::async_write(socket_, asio::buffer(request),
                    [&](const boost::system::error_code& ec, std::size_t) {
                      if (ec) {
                        out.failure = http_failure::closed;
                        finished = true;
                        return;
                      }
                      read_more();
                    });
  bidder::run_until(io_, deadline, finished);
  if (!finished) {
    close();
    io_.restart();
    io_.run();  // the cancelled handlers
    out = {};
    out.failure = http_failure::timeout;
    return out;
  }
  if (out.failure != http_failure::none) {
    close();
    retry_on_new_connection = reused && !any_byte && out.failure == http_failure::closed;
    return out;
  }
  out.status = parsed.status;
  extract(std::string_view(buffer_).substr(0, parsed.size), out);
  if (!parsed.keep_alive) close();
  buffer_.clear();
  return out;
}

bool parse_loopback_url(std::string_view url, url_parts& out, std::string& error) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    error = "only http:// URLs are supported: " + std::string(url);
    return false;
  }
  url.remove_prefix(scheme.size());
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  std::string_view host = authority;
  out.port = 80;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close_bracket = authority.find(']');
    if (close_bracket == std::string_view::npos) {
      error = "bad IPv6 address in " + std::string(authority);
      return false;
    }
    host = authority.substr(1, close_bracket - 1);
    authority.remove_prefix(close_bracket + 1);
    if (authority.starts_with(":")) authority.remove_prefix(1);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    authority.remove_prefix(colon + 1);
  } else {
    authority = {};
  }
  if (!authority.empty()) {
    unsigned port = 0;
    for (char c : authority) {
      if (c < '0' || c > '9' || port > 65535) {
        error = "bad port in " + std::string(url);
        return false;
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
      error = "bad port in " + std::string(url);
      return false;
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec || !address.is_loopback()) {
    error = "bidsim talks to loopback addresses only (127.0.0.1, ::1), not " + std::string(host);
    return false;
  }
  out.host = std::string(host);
  return true;
}

}  // namespace bidder::sim
