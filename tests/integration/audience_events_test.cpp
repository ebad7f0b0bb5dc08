// Browsing events end to end through the real service (docs/audience-events.md): an event
// posted to POST /admin/events, or a segment pixel on the bid port, puts its user in a
// segment, and the bid that follows for that user, for a campaign targeting the segment with
// within_days=1, bids. Refusals, the pixel's limits, forgetting, metrics.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "bidder/app/service.hpp"
#include "bidder/core/deadline.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/integration/service_harness.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::test::call;
using bidder::test::http_reply;

constexpr std::string_view pixel_id = "px-auto-0123456789abcdef";

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-audience-events-it") {}
};

// One campaign that bids only for users in auto-site-visitor seen within a day; the source
// "auto" (5 events a second), its pixel (3 a second, page_view only) and two rules.
// `durability`: a post_durability line for audience_events ("" for the default).
std::string write_config(const fs::path& dir, const std::string& durability = "") {
  const fs::path config = dir / "campaigns.json";
  std::ofstream(config) << R"({
    "audience_events": {)"
                        << durability << R"(
      "sources": [{"id": "auto", "max_per_second": 5}],
      "pixels": [{"id": ")"
                        << pixel_id << R"(", "source": "auto", "max_per_second": 3}],
      "rules": [
        {"id": "visitors", "segment": "auto-site-visitor",
         "url_prefixes": ["example-auto.com/models/"]},
        {"id": "buyers", "segment": "recent-buyer", "ttl_days": 30, "actions": ["purchase"]}]},
    "campaigns": [{"id": "auto-intenders", "status": "ACTIVE",
      "advertiser_domains": ["example-auto.com"], "max_cpm": 10,
      "targeting": {"audience": {"all_of": [{"segment": "auto-site-visitor", "within_days": 1}]}},
      "creatives": [{"id": "cr", "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "ad"}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 2.0}}}]})";
  return config.string();
}

unsigned bid_status(std::uint16_t port, const std::string& buyeruid) {
  const std::string request =
      R"({"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"user":{"buyeruid":")" +
      buyeruid + R"("}})";
  return call(port, "POST", "/bid", request).status;
}

std::string event_line(const std::string& user, const std::string& url,
                       const std::string& action = "page_view") {
  return R"({"source":"auto","user_ids":[")" + user + R"("],"action":")" + action + R"(","url":")" +
         url +
         R"("})"
         "\n";
}

json::object post_events(std::uint16_t admin, const std::string& body) {
  const http_reply r = call(admin, "POST", "/admin/events", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

}  // namespace

TEST_CASE("a posted browsing event makes the next bid for that user match its segment",
          "[integration][events]") {
  temp_dir dir;
  std::ostringstream log;
  auto svc = bidder::test::start_service(write_config(dir.path), dir.path / "data", log);
  const std::uint16_t bids = svc->bid_port(), admin = svc->admin_port();

  CHECK(bid_status(bids, "b1") == 204);  // not in the segment yet
  const json::object answer =
      post_events(admin, event_line("buyeruid:b1", "https://WWW.Example-Auto.com/models/suv-9"));
  CHECK(answer.at("accepted").as_int64() == 1);
  CHECK(answer.at("memberships").as_int64() == 1);
  // The very next request, without a wait: the synced write is in the memtable, which the
  // bid path's memory-only look-up reads.
  CHECK(bid_status(bids, "b1") == 200);
  CHECK(bid_status(bids, "b2") == 204);

  // An event older than the campaign's window puts the user in the segment, but not within 1 day.
  const std::string old = R"({"source":"auto","user_id":"buyeruid:b3","action":"page_view",)"
                          R"("url":"example-auto.com/models/a","time":")" +
                          std::to_string(bidder::wall_now() - 3 * 86'400) + "\"}\n";
  CHECK(post_events(admin, old).at("accepted").as_int64() == 1);
  CHECK(bid_status(bids, "b3") == 204);

  SECTION("forgetting the user removes the event's membership") {
    REQUIRE(call(admin, "DELETE", "/admin/users/buyeruid:b1").status == 200);
    CHECK(bid_status(bids, "b1") == 204);
  }
  SECTION("the segment is listed with its count marked as an estimate") {
    const http_reply r = call(admin, "GET", "/admin/audiences");
    REQUIRE(r.status == 200);
    CHECK(r.body.find("auto-site-visitor") != std::string::npos);
  }
  svc->stop(std::chrono::seconds(1));
}

TEST_CASE("with post_durability SYNC_EVERY_SECOND an acknowledged event is seen by the next bid",
          "[integration][events]") {
  temp_dir dir;
  std::ostringstream log;
  auto svc = bidder::test::start_service(
      write_config(dir.path, R"("post_durability": "SYNC_EVERY_SECOND",)"), dir.path / "data", log);
  const std::uint16_t bids = svc->bid_port(), admin = svc->admin_port();
  CHECK(bid_status(bids, "e1") == 204);
  const json::object answer =
      post_events(admin, event_line("buyeruid:e1", "https://example-auto.com/models/suv-9"));
  CHECK(answer.at("accepted").as_int64() == 1);
  CHECK(bid_status(bids, "e1") == 200);  // unsynced, but in the memtable: seen at once
  const http_reply metrics = call(admin, "GET", "/metrics");
  CHECK(metrics.body.find("bidder_audience_event_wal_syncs_total{result=\"failed\"} 0") !=
        std::string::npos);
  svc->stop(std::chrono::seconds(1));
}

TEST_CASE("POST /admin/events names each refused line, counts unmatched and rate-limits sources",
          "[integration][events]") {
  temp_dir dir;
  std::ostringstream log;
  auto svc = bidder::test::start_service(write_config(dir.path), dir.path / "data", log);
  const std::uint16_t admin = svc->admin_port();

  const json::object answer = post_events(
      admin, event_line("ifa:d1", "example-auto.com/models/x") + "{bad json\n" +
                 event_line("ifa:d1", "example-auto.com/blog/") +
                 R"({"source":"other","user_id":"ifa:d1","action":"page_view","site":"a.example"})"
                 "\n" +
                 event_line("fb:123", "example-auto.com/models/x"));
  CHECK(answer.at("accepted").as_int64() == 1);
  CHECK(answer.at("unmatched").as_int64() == 1);
  CHECK(answer.at("refused").as_int64() == 3);
  const json::array& lines = answer.at("refused_lines").as_array();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].at("line").as_int64() == 2);
  CHECK(lines[0].at("reason").as_string() == "not_json");
  CHECK(lines[1].at("line").as_int64() == 4);
  CHECK(lines[1].at("reason").as_string() == "unknown_source");
  CHECK(lines[2].at("reason").as_string() == "bad_user_id");

  // The source takes 5 a second and 2 of its bucket are spent (the refused lines took none):
  // of a burst of 8, 3 pass (more only if the clock refilled the bucket meanwhile, at one
  // token per 200 ms), the rest are refused. bidder_test's rate_limiter_test pins the rates.
  std::string burst;
  for (int i = 0; i < 8; ++i) {
    burst += event_line("ifa:r" + std::to_string(i), "example-auto.com/models/");
  }
  const json::object limited = post_events(admin, burst);
  const std::int64_t passed = limited.at("accepted").as_int64();
  const std::int64_t refused = limited.at("refused_reasons").at("rate_limited").as_int64();
  CHECK(passed >= 3);
  CHECK(refused >= 3);
  CHECK(passed + refused == 8);

  CHECK(call(admin, "GET", "/admin/events").status == 405);
  const http_reply metrics = call(admin, "GET", "/metrics");
  CHECK(metrics.body.find("bidder_audience_events_total{via=\"post\",result=\"unmatched\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("bidder_audience_events_refused_total{reason=\"not_json\"} 1") !=
        std::string::npos);
  svc->stop(std::chrono::seconds(1));
}

TEST_CASE("the segment pixel queues events off the bid path, within its limits",
          "[integration][events]") {
  temp_dir dir;
  std::ostringstream log;
  auto svc = bidder::test::start_service(write_config(dir.path), dir.path / "data", log);
  const std::uint16_t bids = svc->bid_port();
  const std::string base = "/segment?px=" + std::string(pixel_id);

  // Parameter errors, each with its reason, and nothing queued.
  CHECK(call(bids, "GET", "/segment?px=nope&id=buyeruid:p1").status == 404);
  CHECK(call(bids, "GET", base + "&url=example-auto.com/models/").status == 400);
  CHECK(call(bids, "GET", base + "&id=fb:1").status == 400);
  CHECK(call(bids, "GET", base + "&id=buyeruid:p1&action=purchase").status == 400);
  CHECK(call(bids, "GET", base + "&id=buyeruid:p1&url=a&url=b").status == 400);
  CHECK(call(bids, "GET", base + "&id=buyeruid:p1&url=%zz").status == 400);
  CHECK(call(bids, "POST", base + "&id=buyeruid:p1").status == 405);

  const http_reply taken = call(
      bids, "GET", base + "&id=buyeruid:p1&url=https%3A%2F%2Fexample-auto.com%2Fmodels%2Fsuv&cb=1");
  CHECK(taken.status == 204);
  svc->flush_audience_events();  // the writer thread has applied what was queued
  CHECK(bid_status(bids, "p1") == 200);

  // max_per_second 3: one was taken; of a quick burst of 7 at most 2 pass (and one more per
  // 333 ms the burst takes), the rest get 429 with Retry-After.
  CHECK(call(bids, "GET", base + "&id=buyeruid:p2&url=example-auto.com/blog").status == 204);
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    const http_reply r = call(bids, "GET", base + "&id=buyeruid:p3");
    if (r.status == 429) {
      ++limited;
      CHECK(r.headers.at("retry-after") == "1");
    }
  }
  CHECK(limited >= 4);
  svc->flush_audience_events();
  CHECK(bid_status(bids, "p2") == 204);  // taken, but no rule matched its page

  const http_reply metrics = call(svc->admin_port(), "GET", "/metrics");
  CHECK(metrics.body.find("bidder_audience_events_total{via=\"pixel\",result=\"accepted\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("bidder_segment_pixel_requests_total{status=\"404\"} 1") !=
        std::string::npos);
  svc->stop(std::chrono::seconds(1));
}

TEST_CASE("POST /admin/events needs the admin token when one is set, and rules follow a reload",
          "[integration][events]") {
  temp_dir dir;
  std::ostringstream log;
  const std::string config = write_config(dir.path);
  bidder::app::serve_options options;
  options.config_path = config;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = (dir.path / "data").string();
  options.threads = 1;
  options.shed_busy_share = 0;
  options.shed_queued = std::chrono::microseconds(0);
  options.admin_token = "secret-token-0123456789";
  auto started = bidder::app::service::start(options, log);
  REQUIRE(started.has_value());
  auto& svc = *started;
  const std::uint16_t admin = svc->admin_port();
  const std::string line = event_line("ifa:t1", "https://example-auto.com/deals/spring");

  CHECK(call(admin, "POST", "/admin/events", line).status == 401);
  bidder::test::http_client client(admin);
  bidder::test::http_call post;
  post.method = "POST";
  post.target = "/admin/events";
  post.body = line;
  post.headers["Authorization"] = "Bearer secret-token-0123456789";
  http_reply r = client.send(post);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("unmatched").as_int64() == 1);  // no rule for /deals/ yet

  // A reloaded config with a rule for /deals/: the same event now matches.
  std::string text;
  {
    std::ifstream in(config);
    std::ostringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  const std::string rules_at = "\"rules\": [";
  text.insert(
      text.find(rules_at) + rules_at.size(),
      R"({"id": "deals", "segment": "deal-seeker", "url_prefixes": ["example-auto.com/deals/"]},)");
  std::ofstream(config) << text;
  REQUIRE(svc->reload().has_value());
  bidder::test::http_client again(admin);
  r = again.send(post);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("accepted").as_int64() == 1);
  svc->stop(std::chrono::seconds(1));
}
