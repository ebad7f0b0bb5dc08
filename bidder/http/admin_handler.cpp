#include "bidder/http/admin_handler.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include "bidder/http/audience_api.hpp"
#include "bidder/http/console_files.hpp"

namespace bidder::http {
namespace {
namespace bhttp = boost::beast::http;

// Compares without an early exit, so response timing does not reveal the token's prefix.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

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

// False with a 401 in `res` when a token is required and missing or wrong.
bool admin_handler::authorised(const request_header& req, response& res) const {
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  // The probes carry no token (a kubelet or a load balancer) and tell nothing secret.
  if (actions_.token.empty() || target == "/healthz" || target == "/readyz") return true;
  // The console's files hold no secret; its API calls are authorised like any other.
  if (is_console_path(target)) return true;
  std::string_view auth = req[bhttp::field::authorization];
  constexpr std::string_view bearer = "Bearer ";
  if (auth.starts_with(bearer) && same_secret(auth.substr(bearer.size()), actions_.token)) {
    return true;
  }
  res.set(bhttp::field::www_authenticate, "Bearer");
  text(res, bhttp::status::unauthorized, "missing or wrong bearer token\n");
  return false;
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
    if (!authorised(req.base(), res)) return steady_clock::time_point::max();
    if (is_console_path(target)) {
      serve_console_file(req, target, res);
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
    } else if (target == "/metrics") {
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
              std::pair{"cache=\"row\",kind=\"capacity\"", caches.row_cache_capacity}}) {
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
           "/admin/audience/estimate, POST /admin/conversions, POST /admin/events\n");
    }
  } catch (const std::exception& e) {
    text(res, bhttp::status::bad_request, std::string("error: ") + e.what() + "\n");
  }
  return steady_clock::time_point::max();
}

}  // namespace bidder::http
