// File: bidder/http/console_files.hpp
//
// GET /console/... on the admin port: the browser console's embedded files
// (bidder/console/assets.hpp, docs/console.md). They need no token: they hold no secret, and
// the console's API calls carry the session instead. Every answer has a strict
// Content-Security-Policy (scripts and styles from this origin only, nothing inline, no
// framing), nosniff and no-referrer; "/console" redirects to "/console/" (index.html).
#pragma once

#include <string_view>

#include "bidder/http/server.hpp"

namespace bidder::http {

/// The policy sent with every console file.
inline constexpr std::string_view console_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// True for "/console" and every path under "/console/" (no query string).
[[nodiscard]] bool is_console_path(std::string_view path) noexcept;

/// Answers a request whose path is_console_path: the file (200, GET or HEAD), 404, 405 or the
/// redirect.
void serve_console_file(const request& req, std::string_view path, response& res);

}  // namespace bidder::http
