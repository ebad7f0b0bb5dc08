// The browser console's embedded files as the admin port serves them (docs/console.md
// "Console"): every file with its content type, the Content-Security-Policy and the other
// headers, no token needed for them while the API still needs one, the redirect, 404 and 405.
#include "bidder/http/console_files.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "bidder/console/assets.hpp"
#include "bidder/http/admin_handler.hpp"

namespace bidder::http {
namespace {
namespace bhttp = boost::beast::http;

response serve(admin_handler& handler, bhttp::verb method, std::string target) {
  request req{method, target, 11};
  response res;
  (void)handler.handle(req, steady_clock::now(), res);
  return res;
}

admin_handler with_token() {
  admin_actions actions;
  actions.write_metrics = [](std::string& out) { out += "bidder_requests_total 0\n"; };
  actions.reload = []() -> result<std::string> { return std::string("reloaded"); };
  actions.token = "console-files-test-token";
  return admin_handler(std::move(actions));
}

TEST_CASE("every embedded console file is served with its type and the policy and without a token",
          "[console][http]") {
  admin_handler handler = with_token();
  REQUIRE_FALSE(console::assets().empty());
  for (const console::asset& file : console::assets()) {
    INFO(file.path);
    const response res = serve(handler, bhttp::verb::get, "/console/" + std::string(file.path));
    CHECK(res.result_int() == 200);
    CHECK(res[bhttp::field::content_type] == file.content_type);
    CHECK(res[bhttp::field::content_type] != "application/octet-stream");
    CHECK(res.body() == file.body);
    CHECK(res["Content-Security-Policy"] == console_content_security_policy);
    CHECK(res["X-Content-Type-Options"] == "nosniff");
    CHECK(res["X-Frame-Options"] == "DENY");
    CHECK(res["Referrer-Policy"] == "no-referrer");
  }
  const response index = serve(handler, bhttp::verb::get, "/console/");
  CHECK(index.result_int() == 200);
  CHECK(index[bhttp::field::content_type] == "text/html; charset=utf-8");
  CHECK(index.body() == console::find_asset("index.html")->body);
}

TEST_CASE("the policy allows no inline script or style and the page uses none", "[console][http]") {
  const std::string_view policy = console_content_security_policy;
  CHECK(policy.find("script-src 'self'") != std::string_view::npos);
  CHECK(policy.find("style-src 'self'") != std::string_view::npos);
  CHECK(policy.find("unsafe-inline") == std::string_view::npos);
  CHECK(policy.find("unsafe-eval") == std::string_view::npos);
  CHECK(policy.find("frame-ancestors 'none'") != std::string_view::npos);
  const std::string html(console::find_asset("index.html")->body);
  // Every <script> loads a file; no style attribute or element.
  for (std::size_t at = html.find("<script"); at != std::string::npos;
       at = html.find("<script", at + 1)) {
    const std::size_t end = html.find('>', at);
    CHECK(html.substr(at, end - at).find(" src=") != std::string::npos);
    CHECK(html.substr(end + 1, 9) == "</script>");
  }
  CHECK(html.find("<style") == std::string::npos);
  CHECK(html.find("style=") == std::string::npos);
  if (console::bundle_built()) {
    CHECK(console::find_asset("app.js") != nullptr);
    CHECK(console::find_asset("app.css") != nullptr);
    // Small: no framework, no source map (the issue asks for a small bundle).
    CHECK(console::find_asset("app.js")->body.size() < 64 * 1024);
  }
}

TEST_CASE("console paths redirect or answer 404 or 405 or HEAD while the API still needs the token",
          "[console][http]") {
  admin_handler handler = with_token();
  const response bare = serve(handler, bhttp::verb::get, "/console");
  CHECK(bare.result_int() == 301);
  CHECK(bare[bhttp::field::location] == "/console/");
  CHECK(serve(handler, bhttp::verb::get, "/console/no-such-file.js").result_int() == 404);
  CHECK(serve(handler, bhttp::verb::get, "/console/../metrics").result_int() == 404);
  const response post = serve(handler, bhttp::verb::post, "/console/index.html");
  CHECK(post.result_int() == 405);
  CHECK(post[bhttp::field::allow] == "GET, HEAD");
  CHECK(serve(handler, bhttp::verb::head, "/console/app.css").result_int() ==
        (console::bundle_built() ? 200 : 404));
  // Not a prefix match on "/console": other paths are not opened up.
  CHECK(serve(handler, bhttp::verb::get, "/consolex").result_int() == 401);
  CHECK(serve(handler, bhttp::verb::get, "/metrics").result_int() == 401);
  CHECK(serve(handler, bhttp::verb::get, "/admin/metrics").result_int() == 401);
}

TEST_CASE("content types by extension", "[console][unit]") {
  CHECK(console::content_type_for("a.js") == "text/javascript; charset=utf-8");
  CHECK(console::content_type_for("a.css") == "text/css; charset=utf-8");
  CHECK(console::content_type_for("x/index.html") == "text/html; charset=utf-8");
  CHECK(console::content_type_for("logo.svg") == "image/svg+xml");
  CHECK(console::content_type_for("shot.png") == "image/png");
  CHECK(console::content_type_for("noext") == "application/octet-stream");
  CHECK(console::find_asset("") == console::find_asset("index.html"));
  CHECK(console::find_asset("missing.js") == nullptr);
}

}  // namespace
}  // namespace bidder::http
