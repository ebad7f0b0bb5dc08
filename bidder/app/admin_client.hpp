// File: bidder/app/admin_client.hpp
//
// A blocking HTTP client for the bidder's admin API, used by `bidder audience ...`.
#pragma once

#include <chrono>
#include <functional>
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
  std::string token{};  // sent as "Authorization: Bearer <token>" when non-empty
};

/// Parses "http://HOST:PORT" (or "HOST:PORT"). Errors: invalid_config.
[[nodiscard]] result<admin_target> parse_admin_url(std::string_view url);

/// Sends one request. Errors: io_error (cannot connect, connection lost), with the reason.
[[nodiscard]] result<admin_reply> admin_call(const admin_target& target, std::string_view method,
                                             std::string_view path, std::string body);

/// Fills `chunk` (given empty) with the next bytes of a body; false at the end.
using chunk_source = std::function<result<bool>(std::string& chunk)>;

/// How long admin_upload waits for "100 Continue" before sending the body anyway (a bidder
/// older than streamed uploads never sends one; RFC 9110 section 10.1.1 lets clients go on).
inline constexpr std::chrono::milliseconds default_continue_wait{3000};

/// Sends one request whose body is streamed with chunked transfer encoding, so the body is never
/// held whole: it asks for "Expect: 100-continue" and sends the body after the server's 100, or
/// after `continue_wait` without an answer (a refusal such as 401 or 400 comes back before any
/// byte of the body is sent). Errors: io_error (cannot connect, connection lost: the server
/// then applied nothing), or the source's error (the upload is cut: nothing is applied).
[[nodiscard]] result<admin_reply> admin_upload(
    const admin_target& target, std::string_view method, std::string_view path,
    const chunk_source& next, std::chrono::milliseconds continue_wait = default_continue_wait);

}  // namespace bidder::app
