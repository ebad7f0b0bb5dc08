#include "bidder/http/admin_handler.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

namespace bidder::http {
namespace {
namespace bhttp = boost::beast::http;

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
           "not found: try /healthz, /metrics, POST /admin/reload\n");
    }
  } catch (const std::exception& e) {
    text(res, bhttp::status::bad_request, std::string("error: ") + e.what() + "\n");
  }
  return steady_clock::time_point::max();
}

}  // namespace bidder::http
