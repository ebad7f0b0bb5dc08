// File: tests/integration/http_client.hpp
//
// A small blocking HTTP/1.1 client for the integration tests (Beast, loopback only). One
// client is one keep-alive connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace bidder::test {

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = false;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
};

struct http_call {
  std::string method = "POST";
  std::string target = "/bid";
  std::string body{};
  std::map<std::string, std::string> headers{};
  unsigned version = 11;
};

class http_client {
 public:
  explicit http_client(std::uint16_t port);
  ~http_client();
  /// Sends one request and reads its answer; throws on connection errors.
  http_reply send(const http_call& call);
  /// The two halves of send(), for tests that act between them (a request queued behind
  /// another): write() returns once the bytes are in the kernel's hands.
  void write(const http_call& call);
  http_reply read();
  /// Writes raw bytes and reads whatever answer comes (for malformed HTTP).
  http_reply send_raw(const std::string& bytes);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One request on a fresh connection.
http_reply post(std::uint16_t port, const std::string& target, const std::string& body,
                const std::map<std::string, std::string>& headers = {});

}  // namespace bidder::test
