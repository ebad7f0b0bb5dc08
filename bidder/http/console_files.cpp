#include "bidder/http/console_files.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include "bidder/console/assets.hpp"

namespace bidder::http {
namespace bhttp = boost::beast::http;

bool is_console_path(std::string_view path) noexcept {
  return path == "/console" || path.starts_with("/console/");
}

void serve_console_file(const request& req, std::string_view path, response& res) {
  res.set("Content-Security-Policy", console_content_security_policy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  // The files change with the binary: revalidate rather than serve an old bundle after an upgrade.
  res.set(bhttp::field::cache_control, "no-cache");
  auto text = [&](bhttp::status status, std::string body) {
    res.result(status);
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
  };
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    res.set(bhttp::field::allow, "GET, HEAD");
    return text(bhttp::status::method_not_allowed, "use GET\n");
  }
  if (path == "/console") {
    res.set(bhttp::field::location, "/console/");
    return text(bhttp::status::moved_permanently, "see /console/\n");
  }
  const console::asset* file =
      console::find_asset(path.substr(std::string_view("/console/").size()));
  if (file == nullptr) return text(bhttp::status::not_found, "no such console file\n");
  res.result(bhttp::status::ok);
  res.set(bhttp::field::content_type, file->content_type);
  res.body().assign(file->body.data(), file->body.size());
}

}  // namespace bidder::http
