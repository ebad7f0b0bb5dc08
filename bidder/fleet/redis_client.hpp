// File: bidder/fleet/redis_client.hpp
//
// A blocking Redis client for the fleet thread (docs/fleet.md): one connection, every call
// bounded by a timeout, commands sent pipelined. hiredis is confined to redis_client.cpp. Never
// used on a bid or Asio thread: only the fleet agent's own thread calls it.
//
//   auto endpoint = fleet::parse_redis_endpoint("unix:/run/redis.sock");   // or "host:port"
//   fleet::redis_client redis(*endpoint, std::chrono::milliseconds(200));
//   auto replies = redis.pipeline({{"INCRBY", "k", "1"}, {"GET", "k"}});
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/error.hpp"

namespace bidder::fleet {

/// Where Redis listens: a TCP host and port, or a unix socket path.
struct redis_endpoint {
  std::string host;
  int port = 0;
  std::string unix_path;  // set: a unix socket (host and port unused)
  std::string text() const;
};
/// "host:port" or "unix:/path". Error invalid_config with the reason.
[[nodiscard]] result<redis_endpoint> parse_redis_endpoint(std::string_view text);

/// One reply, copied out of hiredis.
struct redis_value {
  enum class type : std::uint8_t { nil, integer, string, status, error, array };
  type kind = type::nil;
  long long integer = 0;
  std::string text;  // string, status, error
  std::vector<redis_value> elements;
  bool is_error() const noexcept { return kind == type::error; }
};

class redis_client {
 public:
  redis_client(redis_endpoint endpoint, std::chrono::milliseconds timeout);
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Sends `commands` in one pipeline and reads one reply each (a Redis error is a reply of
  /// kind error). Connects first when not connected. Error io_error when the connection fails
  /// or times out; the connection is then dropped and the next call reconnects.
  [[nodiscard]] result<std::vector<redis_value>> pipeline(
      const std::vector<std::vector<std::string>>& commands);
  bool connected() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bidder::fleet
