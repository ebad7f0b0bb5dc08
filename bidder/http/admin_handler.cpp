#include "bidder/http/admin_handler.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include "bidder/http/audience_api.hpp"

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
}  // namespace

steady_clock::time_point admin_handler::handle(request& req, steady_clock::time_point,
                                               response& res) noexcept {
  try {
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));
    const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
    if (!actions_.token.empty() && target != "/healthz") {
      std::string_view auth = req[bhttp::field::authorization];
      constexpr std::string_view bearer = "Bearer ";
      if (!auth.starts_with(bearer) || !same_secret(auth.substr(bearer.size()), actions_.token)) {
        res.set(bhttp::field::www_authenticate, "Bearer");
        text(res, bhttp::status::unauthorized, "missing or wrong bearer token\n");
        return steady_clock::time_point::max();
      }
    }
    if (actions_.store != nullptr && serve_audience_api(*actions_.store, req, res)) {
      return steady_clock::time_point::max();
    }
    if (target == "/healthz") {
      if (!get)
        return text(res, bhttp::status::method_not_allowed, "use GET\n"),
               steady_clock::time_point::max();
      text(res, bhttp::status::ok, "ok\n");
    } else if (target == "/metrics") {
      if (!get)
        return text(res, bhttp::status::method_not_allowed, "use GET\n"),
               steady_clock::time_point::max();
      std::string body;
      actions_.write_metrics(body);
      text(res, bhttp::status::ok, std::move(body));
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
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
           "not found: try /healthz, /metrics, POST /admin/reload, /admin/audiences\n");
    }
  } catch (const std::exception& e) {
    text(res, bhttp::status::bad_request, std::string("error: ") + e.what() + "\n");
  }
  return steady_clock::time_point::max();
}

}  // namespace bidder::http
