// File: bidder/http/admin_session.hpp
//
// Browser sessions on the admin port (docs/console.md "Authentication"): POST /admin/session
// with the admin token gets a session id (the HttpOnly cookie bidder_session) and a CSRF token
// the page sends back as X-CSRF-Token on every change. Both are 32 random bytes in hex. Sessions
// live in memory (a restart logs everyone out) and expire `idle` after their last use.
// Thread-safe: the admin handlers share one table.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "bidder/core/deadline.hpp"

namespace bidder::http {

struct admin_session {
  std::string csrf;
  std::string who;  // named at login ("user" in the body), else "session"
  steady_clock::time_point last_used;
};

class session_table {
 public:
  explicit session_table(std::chrono::seconds idle = std::chrono::hours(8),
                         std::size_t max_sessions = 1000)
      : idle_(idle), max_sessions_(max_sessions) {}
  /// A new session; returns its id. At max_sessions the least recently used one goes.
  std::string create(std::string who, steady_clock::time_point now);
  /// The live session `id` names (touching it), if any.
  std::optional<admin_session> find(std::string_view id, steady_clock::time_point now);
  void remove(std::string_view id);

 private:
  std::mutex mutex_;
  std::map<std::string, admin_session, std::less<>> sessions_;
  std::chrono::seconds idle_;
  std::size_t max_sessions_;
};

/// 32 random bytes from the OS, as 64 hex digits.
std::string random_token();

/// The value of cookie `name` in a Cookie header ("a=1; bidder_session=x"), or empty.
std::string_view cookie_value(std::string_view header, std::string_view name);

/// Compares without an early exit, so timing does not reveal a secret's prefix.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace bidder::http
