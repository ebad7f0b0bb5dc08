// Who may change campaigns (docs/console.md "Authentication"): the admin token, or a session
// cookie from POST /admin/session with a CSRF token on every change.
#include <catch2/catch.hpp>
#include <string>

#include "tests/console/console_harness.hpp"

namespace {

using bidder::test::campaign_text;
using bidder::test::console_fixture;

}  // namespace

TEST_CASE("with an admin token, no token is 401 with a JSON reason, the token works",
          "[console][auth]") {
  console_fixture f("s3cret");
  const auto anonymous = f.admin("GET", "/admin/campaigns", "", {{"Authorization", ""}});
  CHECK(anonymous.status == 401);
  CHECK(f.json_of(anonymous).at("error").as_string().size() > 0);
  CHECK(f.admin("POST", "/admin/campaigns", campaign_text("c2", 1, 1), {{"Authorization", ""}})
            .status == 401);
  CHECK(f.admin("POST", "/admin/campaigns", campaign_text("c2", 1, 1),
                {{"Authorization", "Bearer wrong"}})
            .status == 401);
  CHECK(f.revision() == 1);
  const auto created =
      f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90), {{"X-Bidder-User", "ann"}});
  CHECK(created.status == 201);
  const auto audit = f.json_of(f.admin("GET", "/admin/audit")).at("entries").as_array();
  CHECK(audit[0].at("who") == "admin token (ann)");
}

TEST_CASE("a session cookie needs the CSRF token on every change", "[console][auth]") {
  console_fixture f("s3cret");
  const std::map<std::string, std::string> none{{"Authorization", ""}};
  CHECK(f.admin("POST", "/admin/session", R"({"token":"wrong"})", none).status == 401);
  CHECK(f.admin("POST", "/admin/session", "not json", none).status == 400);

  const auto login = f.admin("POST", "/admin/session", R"({"token":"s3cret","user":"bo"})", none);
  REQUIRE(login.status == 200);
  const std::string set_cookie = login.headers.at("set-cookie");
  CHECK_THAT(set_cookie, Catch::Contains("HttpOnly") && Catch::Contains("SameSite=Strict") &&
                             Catch::Contains("Path=/admin"));
  CHECK_THAT(set_cookie, !Catch::Contains("Secure"));
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf(f.json_of(login).at("csrf").as_string());
  CHECK(csrf.size() == 64);

  auto with_cookie = [&](std::map<std::string, std::string> h) {
    h["Authorization"] = "";
    h["Cookie"] = "other=1; " + cookie;
    return h;
  };
  CHECK(f.admin("GET", "/admin/campaigns", "", with_cookie({})).status == 200);
  const auto session = f.admin("GET", "/admin/session", "", with_cookie({}));
  REQUIRE(session.status == 200);
  CHECK(f.json_of(session).at("csrf").as_string() == csrf);

  const auto no_csrf =
      f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90), with_cookie({}));
  CHECK(no_csrf.status == 403);
  CHECK(f.json_of(no_csrf).at("error") == "csrf token missing or wrong");
  CHECK(f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90),
                with_cookie({{"X-CSRF-Token", std::string(64, '0')}}))
            .status == 403);
  CHECK(f.revision() == 1);
  const auto created = f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90),
                               with_cookie({{"X-CSRF-Token", csrf}}));
  CHECK(created.status == 201);
  CHECK(f.json_of(f.admin("GET", "/admin/audit")).at("entries").as_array()[0].at("who") == "bo");

  // Logged out: the cookie opens nothing any more.
  CHECK(f.admin("DELETE", "/admin/session", "", with_cookie({{"X-CSRF-Token", csrf}})).status ==
        200);
  CHECK(f.admin("GET", "/admin/campaigns", "", with_cookie({})).status == 401);
  CHECK(f.admin("GET", "/admin/session", "", with_cookie({})).status == 401);
}

TEST_CASE("behind a TLS proxy the session cookie is Secure", "[console][auth]") {
  console_fixture f("s3cret");
  const auto login = f.admin("POST", "/admin/session", R"({"token":"s3cret"})",
                             {{"Authorization", ""}, {"X-Forwarded-Proto", "https"}});
  REQUIRE(login.status == 200);
  CHECK_THAT(login.headers.at("set-cookie"), Catch::Contains("; Secure"));
}

TEST_CASE("without a token (loopback), a change a cross-site form could send is refused",
          "[console][auth]") {
  console_fixture f;
  CHECK(f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90),
                {{"Content-Type", "text/plain"}})
            .status == 403);
  CHECK(f.admin("POST", "/admin/campaigns/c1/pause", "",
                {{"Content-Type", "application/x-www-form-urlencoded"}})
            .status == 403);
  CHECK(f.admin("POST", "/admin/campaigns/c1/pause", "",
                {{"Content-Type", "text/plain"}, {"X-CSRF-Token", "any"}})
            .status == 200);
}
