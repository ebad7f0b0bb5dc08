#include "bidder/http/admin_handler.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "bidder/core/json_text.hpp"
#include "bidder/http/audience_api.hpp"
#include "bidder/http/console_files.hpp"

namespace bidder::http {
namespace {
namespace bhttp = boost::beast::http;

void json_error(response& res, bhttp::status status, std::string_view message) {
  res.result(status);
  res.set(bhttp::field::content_type, "application/json");
  std::string body = "{\"error\":";
  append_json_string(body, message);
  res.body() = std::move(body) + "}\n";
}

constexpr std::string_view session_cookie = "bidder_session";

void text(response& res, bhttp::status status, std::string body) {
  res.result(status);
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
}

// GET /admin/report: reading the event log may take seconds, so the answer is made in finish(),
// on the offload thread, while the admin thread keeps serving (as audience_api's deferred
// calls). A GET has no body: one sent is not read on (the connection closes after the answer).
class report_call final : public body_stream {
 public:
  report_call(const std::function<admin_reply(std::string_view)>& action, std::string_view query)
      : action_(action), query_(query) {}
  void on_chunk(std::string_view) noexcept override { sent_a_body_ = true; }
  bool stop_reading() noexcept override { return sent_a_body_; }
  void finish(response& res) noexcept override {
    try {
      admin_reply reply = action_(query_);
      res.result(static_cast<bhttp::status>(reply.status));
      res.set(bhttp::field::content_type, reply.content_type);
      res.body() = std::move(reply.body);
    } catch (const std::exception& e) {
      text(res, bhttp::status::service_unavailable, std::string("error: ") + e.what() + "\n");
    }
  }

 private:
  std::function<admin_reply(std::string_view)> action_;  // a copy: finish() runs on another thread
  std::string query_;
  bool sent_a_body_ = false;
};

// The login body: {"token": "...", "user": "..."} (user optional, at most 64 bytes).
bool parse_login(std::string_view body, std::string& token, std::string& user) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const auto* t = v.as_object().if_contains("token");
  if (t == nullptr || !t->is_string()) return false;
  token = t->as_string();
  if (const auto* u = v.as_object().if_contains("user"); u != nullptr && u->is_string()) {
    user = std::string(u->as_string()).substr(0, 64);
  }
  return true;
}

bool is_report(const request_header& header) {
  const std::string_view target = header.target();
  return target.substr(0, target.find('?')) == "/admin/report";
}

// GET /admin/report, authorised: taken as a stream, to be answered off the admin thread.
stream_decision open_report(const admin_actions& actions, const request_header& header,
                            response& res, std::unique_ptr<body_stream>& out) {
  if (header.method() != bhttp::verb::get) {
    res.set(bhttp::field::allow, "GET");
    text(res, bhttp::status::method_not_allowed, "use GET\n");
    return stream_decision::answered;
  }
  const std::string_view target = header.target();
  const std::size_t question = target.find('?');
  out = std::make_unique<report_call>(actions.report, question == std::string_view::npos
                                                          ? std::string_view()
                                                          : target.substr(question + 1));
  return stream_decision::stream;
}
}  // namespace

bool admin_handler::authorised(const request_header& req, response& res, std::string& who) const {
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  // The probes carry no token (a kubelet or a load balancer) and tell nothing secret; the login
  // checks the token in its body.
  if (target == "/healthz" || target == "/readyz") return true;
  // The console's files hold no secret; its API calls are authorised like any other.
  if (is_console_path(target)) return true;
  if (target == "/admin/session" && req.method() == bhttp::verb::post) return true;
  const bool change = req.method() != bhttp::verb::get && req.method() != bhttp::verb::head;
  std::string_view auth = req[bhttp::field::authorization];
  constexpr std::string_view bearer = "Bearer ";
  if (!actions_.token.empty() && auth.starts_with(bearer) &&
      same_secret(auth.substr(bearer.size()), actions_.token)) {
    const std::string_view user = req["X-Bidder-User"];
    who = user.empty() || user.size() > 64 ? "admin token"
                                           : "admin token (" + std::string(user) + ")";
    return true;
  }
  if (actions_.sessions) {
    const std::string_view id = cookie_value(req[bhttp::field::cookie], session_cookie);
    if (auto session = actions_.sessions->find(id, steady_clock::now())) {
      // SameSite=Strict keeps the cookie off other sites' requests; the header, which another
      // site cannot set without a CORS preflight this server never approves, is the second lock.
      if (change && !same_secret(req["X-CSRF-Token"], session->csrf)) {
        json_error(res, bhttp::status::forbidden, "csrf token missing or wrong");
        return false;
      }
      who = session->who;
      return true;
    }
  }
  if (actions_.token.empty()) {  // loopback without a token: open, as before
    // But a page on another site could still post a form to 127.0.0.1: a campaign change must
    // carry what a form cannot (a JSON content type or the CSRF header) without a CORS
    // preflight, which this server never approves.
    const bool console_path =
        target.starts_with("/admin/campaigns") || target.starts_with("/admin/revisions");
    if (change && console_path && req["X-CSRF-Token"].empty() &&
        !req[bhttp::field::content_type].starts_with("application/json")) {
      json_error(res, bhttp::status::forbidden,
                 "csrf token missing or wrong (send Content-Type: application/json)");
      return false;
    }
    who = "admin (no token)";
    return true;
  }
  res.set(bhttp::field::www_authenticate, "Bearer");
  json_error(res, bhttp::status::unauthorized,
             "missing or wrong bearer token (or no valid session cookie)");
  return false;
}

// POST /admin/session {"token":"...","user":"..."} -> {"csrf":"..."} + the cookie; GET: the
// session's CSRF token or 401; DELETE: logs out.
void admin_handler::serve_session(request& req, response& res) {
  const std::string_view id = cookie_value(req[bhttp::field::cookie], session_cookie);
  // Secure only when a TLS proxy in front says the browser used https: the admin port itself is
  // plain HTTP, and a Secure cookie would never come back over it.
  const bool https = req["X-Forwarded-Proto"] == "https";
  auto set_cookie = [&](std::string_view value, bool expire) {
    std::string cookie = std::string(session_cookie) + "=" + std::string(value) +
                         "; HttpOnly; SameSite=Strict; Path=/admin";
    if (https) cookie += "; Secure";
    if (expire) cookie += "; Max-Age=0";
    res.set(bhttp::field::set_cookie, cookie);
  };
  auto answer_csrf = [&](const std::string& csrf) {
    res.result(bhttp::status::ok);
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = "{\"csrf\":\"" + csrf + "\"}\n";
  };
  if (req.method() == bhttp::verb::post) {
    std::string token, user;
    if (!parse_login(req.body(), token, user)) {
      return json_error(res, bhttp::status::bad_request,
                        R"(send {"token":"<admin token>"} as JSON)");
    }
    if (!actions_.token.empty() && !same_secret(token, actions_.token)) {
      return json_error(res, bhttp::status::unauthorized, "wrong admin token");
    }
    const std::string new_id =
        actions_.sessions->create(user.empty() ? "session" : user, steady_clock::now());
    set_cookie(new_id, false);
    return answer_csrf(actions_.sessions->find(new_id, steady_clock::now())->csrf);
  }
  if (req.method() == bhttp::verb::get) {
    auto session = actions_.sessions->find(id, steady_clock::now());
    if (!session) return json_error(res, bhttp::status::unauthorized, "no valid session");
    return answer_csrf(session->csrf);
  }
  if (req.method() == bhttp::verb::delete_) {
    actions_.sessions->remove(id);
    set_cookie("", true);
    res.result(bhttp::status::ok);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = "{}\n";
    return;
  }
  res.set(bhttp::field::allow, "GET, POST, DELETE");
  json_error(res, bhttp::status::method_not_allowed, "use GET, POST or DELETE");
}

stream_decision admin_handler::open_stream(const request_header& header, response& res,
                                           std::unique_ptr<body_stream>& out) noexcept {
  try {
    if (actions_.report && is_report(header)) {
      if (!authorised(header, res)) return stream_decision::answered;
      return open_report(actions_, header, res, out);
    }
    if (actions_.store == nullptr) return stream_decision::read_whole;
    // Refused before a byte of a (possibly huge) upload is read.
    if (!authorised(header, res)) return stream_decision::answered;
    return open_audience_push(*actions_.store, header, res, out, &pushes_);
  } catch (const std::exception& e) {
    text(res, bhttp::status::service_unavailable, std::string("error: ") + e.what() + "\n");
    return stream_decision::answered;
  }
}

steady_clock::time_point admin_handler::handle(request& req, steady_clock::time_point,
                                               response& res) noexcept {
  try {
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));
    const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
    std::string who;
    if (!authorised(req.base(), res, who)) return steady_clock::time_point::max();
    if (is_console_path(target)) {
      serve_console_file(req, target, res);
      return steady_clock::time_point::max();
    }
    if (target == "/admin/session" && actions_.sessions) {
      serve_session(req, res);
      return steady_clock::time_point::max();
    }
    if (actions_.campaigns != nullptr && serve_campaign_api(*actions_.campaigns, req, res, who)) {
      return steady_clock::time_point::max();
    }
    if (actions_.store != nullptr &&
        (serve_reach_api(*actions_.store, req, res, actions_.audience_traffic) ||
         serve_audience_api(*actions_.store, req, res, actions_.forget_more))) {
      return steady_clock::time_point::max();
    }
    if (target == "/healthz") {
      if (!get)
        return text(res, bhttp::status::method_not_allowed, "use GET\n"),
               steady_clock::time_point::max();
      text(res, bhttp::status::ok, "ok\n");
    } else if (target == "/readyz") {
      if (!get)
        return text(res, bhttp::status::method_not_allowed, "use GET\n"),
               steady_clock::time_point::max();
      const std::string reason = actions_.readiness ? actions_.readiness() : std::string();
      if (reason.empty()) {
        text(res, bhttp::status::ok, "ready\n");
      } else {
        text(res, bhttp::status::service_unavailable, "not ready: " + reason + "\n");
      }
    } else if (target == "/metrics" || target == "/admin/metrics") {
      // /admin/metrics: the same, under the session cookie's Path=/admin, for the console.
      if (!get)
        return text(res, bhttp::status::method_not_allowed, "use GET\n"),
               steady_clock::time_point::max();
      std::string body;
      actions_.write_metrics(body);
      if (actions_.store != nullptr) {
        body +=
            "# HELP bidder_audience_pushes_total Audience pushes (uploads) on the admin port, "
            "by outcome.\n# TYPE bidder_audience_pushes_total counter\n";
        for (auto [outcome, count] : {std::pair{"applied", pushes_.applied.load()},
                                      std::pair{"refused", pushes_.refused.load()},
                                      std::pair{"aborted", pushes_.aborted.load()}}) {
          body += "bidder_audience_pushes_total{result=\"" + std::string(outcome) + "\"} " +
                  std::to_string(count) + "\n";
        }
        const auto caches = actions_.store->caches();
        body +=
            "# HELP bidder_audience_cache_bytes Bytes held in the audience store's caches "
            "(used) and their size (capacity).\n# TYPE bidder_audience_cache_bytes gauge\n";
        for (auto [labels, bytes] :
             {std::pair{"cache=\"block\",kind=\"used\"", caches.block_cache_bytes},
              std::pair{"cache=\"block\",kind=\"capacity\"", caches.block_cache_capacity},
              std::pair{"cache=\"row\",kind=\"used\"", caches.row_cache_bytes},
              std::pair{"cache=\"row\",kind=\"capacity\"", caches.row_cache_capacity},
              std::pair{"cache=\"user\",kind=\"capacity\"", caches.user_cache_bytes}}) {
          body += "bidder_audience_cache_bytes{" + std::string(labels) + "} " +
                  std::to_string(bytes) + "\n";
        }
      }
      text(res, bhttp::status::ok, std::move(body));
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
    } else if (target == "/admin/conversions" && actions_.post_conversions) {
      if (req.method() != bhttp::verb::post) {
        res.set(bhttp::field::allow, "POST");
        text(res, bhttp::status::method_not_allowed, "use POST\n");
      } else {
        auto [status, body] = actions_.post_conversions(req.body());
        res.result(static_cast<bhttp::status>(status));
        res.set(bhttp::field::content_type, "application/json");
        res.body() = std::move(body);
      }
    } else if (target == "/admin/events" && actions_.post_events) {
      if (req.method() != bhttp::verb::post) {
        res.set(bhttp::field::allow, "POST");
        text(res, bhttp::status::method_not_allowed, "use POST\n");
      } else {
        auto [status, body] = actions_.post_events(req.body());
        res.result(static_cast<bhttp::status>(status));
        res.set(bhttp::field::content_type, "application/json");
        res.body() = std::move(body);
      }
    } else if (target == "/admin/reload") {
      if (req.method() != bhttp::verb::post) {
        res.set(bhttp::field::allow, "POST");
        text(res, bhttp::status::method_not_allowed, "use POST\n");
      } else if (auto r = actions_.reload(); r) {
        text(res, bhttp::status::ok, *r + "\n");
      } else {
        text(res, bhttp::status::unprocessable_entity,
             "reload refused, the previous campaigns keep serving: " + r.error().message + "\n");
      }
    } else {
      text(res, bhttp::status::not_found,
           "not found: try /healthz, /readyz, /metrics, POST /admin/reload, /admin/audiences, "
           "/admin/audience/estimate, POST /admin/conversions, POST /admin/events, "
           "/admin/campaigns, /admin/revisions, /admin/audit, /admin/session\n");
    }
  } catch (const std::exception& e) {
    text(res, bhttp::status::bad_request, std::string("error: ") + e.what() + "\n");
  }
  return steady_clock::time_point::max();
}

}  // namespace bidder::http
