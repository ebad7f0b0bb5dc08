// File: bidder/app/admin_client.hpp
//
// A blocking HTTP client for the bidder's admin API, used by `bidder audience ...`.
#pragma once

#include <string>
#include <string_view>

#include "bidder/core/error.hpp"

namespace bidder::app {

struct admin_reply {
  unsigned status = 0;
  std::string body;
};

struct admin_target {
  std::string host = "127.0.0.1";
  std::string port = "8081";
  std::string token;  // sent as "Authorization: Bearer <token>" when non-empty
};

/// Parses "http://HOST:PORT" (or "HOST:PORT"). Errors: invalid_config.
[[nodiscard]] result<admin_target> parse_admin_url(std::string_view url);

/// Sends one request. Errors: io_error (cannot connect, connection lost), with the reason.
[[nodiscard]] result<admin_reply> admin_call(const admin_target& target, std::string_view method,
                                             std::string_view path, std::string body);

}  // namespace bidder::app
