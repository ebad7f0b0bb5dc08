// Conversions end to end through the real service: bids, notices and clicks over HTTP record
// touches; POST /admin/conversions attributes against them; restarts, forgetting, the event log.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "bidder/app/service.hpp"
#include "bidder/conversions/conversion_store.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/integration/service_harness.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::test::http_call;
using bidder::test::http_client;
using bidder::test::http_reply;

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-conversions-it") {}
};

// Two campaigns of shop.example (the second with a 1-hour click window) and one of
// other.example; EUR is worth 2 USD.
std::string write_config(const fs::path& dir) {
  std::ofstream(dir / "notice.key") << "0123456789abcdef0123456789abcdef-conversions\n";
  auto campaign = [](const std::string& id, const std::string& domain, const std::string& size,
                     const std::string& extra) {
    return R"({"id": ")" + id + R"(", "status": "ACTIVE", "advertiser_domains": [")" + domain +
           R"("], "max_cpm": 10, )" + extra + R"("creatives": [{"id": ")" + id +
           R"(-cr", "banner": {"sizes": [{"w": )" + size +
           R"(, "h": 250}]}, "markup": "<a href=\"{{CLICK_URL}}\">ad</a>",
           "landing_url": "https://)" +
           domain + R"(/landing"}], "pricing": {"name": "fixed", "config": {"@type":
           "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 2.0}}})";
  };
  const fs::path config = dir / "campaigns.json";
  std::ofstream(config) << R"({"notice_key_file": ")" << (dir / "notice.key").string()
                        << R"(", "currency_rates": {"EUR": 0.5},
                          "conversion_pixels": [{"id": "px-shop-0123456789abcdef",
                            "advertiser": "Shop.Example", "max_value": 100,
                            "max_per_second": 3}],
                          "campaigns": [)"
                        << campaign("shoes", "shop.example", "300", "") << ","
                        << campaign("socks", "shop.example", "320",
                                    R"("attribution": {"click_window_seconds": 3600}, )")
                        << "," << campaign("rival", "other.example", "728", "") << "]}";
  return config.string();
}

std::unique_ptr<bidder::app::service> start(const std::string& config, const fs::path& data,
                                            std::ostringstream& log) {
  return bidder::test::start_service(config, data, log);
}

using bidder::test::call;
using bidder::test::event_lines;
std::string path_of(std::string url) { return bidder::test::notice_path(std::move(url)); }

struct shown_ad {
  std::string bid_id;
  std::string campaign;
  std::string click_path;  // the click URL in the markup
};

// A bid for a 300x250 (shoes), 320x250 (socks) or 728x250 (rival) slot for user `buyeruid`,
// its win notice sent.
shown_ad show(std::uint16_t port, int width, const std::string& buyeruid) {
  const std::string request = R"({"id":"a1","imp":[{"id":"1","banner":{"w":)" +
                              std::to_string(width) + R"(,"h":250}}],"user":{"buyeruid":")" +
                              buyeruid + R"("}})";
  const http_reply r = call(port, "POST", "/bid", request);
  REQUIRE(r.status == 200);
  const json::object bid =
      json::parse(r.body).at("seatbid").as_array()[0].at("bid").as_array()[0].as_object();
  const std::string adm(bid.at("adm").as_string());
  const std::size_t at = adm.find("/click?");
  REQUIRE(at != std::string::npos);
  shown_ad out{std::string(bid.at("id").as_string()), std::string(bid.at("cid").as_string()),
               path_of("http://x" + adm.substr(at, adm.find('"', at) - at))};
  REQUIRE(call(port, "GET", path_of(std::string(bid.at("nurl").as_string()))).status == 204);
  return out;
}

json::object post_conversions(std::uint16_t admin, const std::string& body) {
  const http_reply r = call(admin, "POST", "/admin/conversions", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

std::int64_t count(const json::object& answer, const char* key) {
  return answer.at(key).as_int64();
}

std::string conversion(const std::string& id, const std::string& links,
                       const std::string& owner = R"("advertiser":"shop.example")") {
  return R"({"conversion_id":")" + id + R"(","value":30,"currency":"EUR",)" + links + "," + owner +
         "}\n";
}

}  // namespace

TEST_CASE("conversions are attributed to the touches of real bids, notices and clicks",
          "[integration][conversions]") {
  temp_dir dir;
  const std::string config = write_config(dir.path);
  std::ostringstream log;
  const fs::path data = dir.path / "data";
  std::string clicked_bid;
  {
    auto svc = start(config, data, log);
    const std::uint16_t port = svc->bid_port(), admin = svc->admin_port();

    const shown_ad viewed = show(port, 300, "alice");
    const shown_ad clicked = show(port, 300, "alice");
    clicked_bid = clicked.bid_id;
    const http_reply click = call(port, "GET", clicked.click_path);
    REQUIRE(click.status == 302);
    const std::string location = click.headers.at("location");
    CHECK(location == "https://shop.example/landing?bclid=" + clicked.bid_id);
    show(port, 728, "alice");  // another advertiser's ad, shown later: never credited here

    // The advertiser's server posts what its landing page learned (the click id), and a
    // purchase it only knows the user of.
    const json::object first = post_conversions(
        admin,
        conversion("order-1", R"("click_id":")" + clicked.bid_id + R"(")") +
            conversion("order-2", R"("user_ids":["buyeruid:alice"])") +
            conversion("order-1", R"("user_ids":["buyeruid:alice"])") +  // the same order
            conversion("order-3", R"("user_ids":["buyeruid:bob"])") +
            R"({"conversion_id":"order-4","value":-1,"currency":"EUR","user_ids":["buyeruid:alice"],"advertiser":"shop.example"})"
            "\n");
    CHECK(count(first, "accepted") == 2);
    CHECK(count(first, "duplicate") == 1);
    CHECK(count(first, "unmatched") == 1);
    CHECK(count(first, "refused") == 1);
    CHECK(first.at("unmatched_reasons").at("no_touch").as_int64() == 1);
    REQUIRE(first.at("refused_lines").as_array().size() == 1);
    CHECK(first.at("refused_lines").as_array()[0].at("line").as_int64() == 5);
    (void)viewed;

    // A view of "socks" only, whose click window is an hour; a view credits within a day.
    const shown_ad sock = show(port, 320, "carol");
    const json::object view_only = post_conversions(
        admin,
        conversion("order-5", R"("user_ids":["buyeruid:carol"])", R"("campaign_id":"socks")"));
    CHECK(count(view_only, "accepted") == 1);
    (void)sock;

    const std::string metrics = call(admin, "GET", "/metrics").body;
    CHECK_THAT(metrics, Catch::Contains(R"(bidder_conversions_total{result="accepted"} 3)"));
    CHECK_THAT(metrics, Catch::Contains(R"(bidder_conversions_total{result="duplicate"} 1)"));
    CHECK_THAT(metrics, Catch::Contains("bidder_attribution_lookup_seconds_count"));
    CHECK_THAT(metrics, Catch::Contains("bidder_conversion_outbox_pending 0"));
    CHECK(call(admin, "GET", "/admin/conversions").status == 405);
    svc->stop(std::chrono::milliseconds(500));
  }
  const std::string lines = event_lines(data / "events");
  CHECK_THAT(lines, Catch::Contains(R"("kind":"CONVERSION")"));
  CHECK_THAT(lines, Catch::Contains(R"("bid_id":")" + clicked_bid +
                                    R"(","campaign_id":"shoes","creative_id":"shoes-cr")"));
  CHECK_THAT(lines, Catch::Contains(R"("conversion_id":"order-1","value_micros":60000000,)"
                                    R"("attribution":"last_click")"));
  CHECK_THAT(lines, Catch::Contains(R"("campaign_id":"socks")"));
  CHECK_THAT(lines, Catch::Contains(R"("attribution":"last_view")"));
  CHECK_THAT(lines, Catch::Contains(R"("conversion_id":"order-3","value_micros":30000000,)"
                                    R"("attribution":"unattributed")"));

  // After a restart: duplicates are still known, touches still attribute, forget removes them.
  auto svc = start(config, data, log);
  const std::uint16_t admin = svc->admin_port();
  CHECK(count(post_conversions(admin, conversion("order-2", R"("user_ids":["buyeruid:alice"])")),
              "duplicate") == 1);
  CHECK(count(post_conversions(admin, conversion("order-6", R"("user_ids":["buyeruid:alice"])")),
              "accepted") == 1);
  const http_reply forgot = call(admin, "DELETE", "/admin/users/buyeruid:alice");
  REQUIRE(forgot.status == 200);
  CHECK_THAT(forgot.body, Catch::Contains(R"("touches_forgotten":true)"));
  const json::object after =
      post_conversions(admin, conversion("order-7", R"("user_ids":["buyeruid:alice"])"));
  CHECK(count(after, "unmatched") == 1);
}

TEST_CASE("conversions a crash left in the outbox reach the event log at the next start",
          "[integration][conversions]") {
  temp_dir dir;
  const std::string config = write_config(dir.path);
  const fs::path data = dir.path / "data";
  {
    // What a bidder killed between its synced commit (the 200) and the event log leaves.
    auto store = bidder::conversions::conversion_store::open({.dir = data / "conversions"});
    REQUIRE(store.has_value());
    bidder::conversions::stored_conversion c;
    c.dedup_key = "shop.example\norder-9";
    c.conversion_id = "order-9";
    c.at = 1'795'305'600;
    c.campaign_id = "shoes";
    c.currency = "USD";
    c.value_micros = 5'000'000;
    REQUIRE((*store)->commit(std::span(&c, 1)).has_value());
  }
  std::ostringstream log;
  {
    auto svc = start(config, data, log);
    CHECK_THAT(call(svc->admin_port(), "GET", "/metrics").body,
               Catch::Contains("bidder_conversion_outbox_pending 0"));
    // Still known as stored: posting it again is a duplicate.
    CHECK(count(post_conversions(svc->admin_port(), conversion("order-9", R"("bid_id":"b")",
                                                               R"("campaign_id":"shoes")")),
                "duplicate") == 1);
    svc->stop(std::chrono::milliseconds(500));
  }
  CHECK_THAT(event_lines(data / "events"),
             Catch::Contains(R"("conversion_id":"order-9","value_micros":5000000)"));
  auto store = bidder::conversions::conversion_store::open({.dir = data / "conversions"});
  REQUIRE(store.has_value());
  CHECK((*store)->outbox()->empty());
}

TEST_CASE("the conversion pixel credits our clicks, within its limits",
          "[integration][conversions]") {
  temp_dir dir;
  const std::string config = write_config(dir.path);
  std::ostringstream log;
  auto svc = start(config, dir.path / "data", log);
  const std::uint16_t port = svc->bid_port(), admin = svc->admin_port();
  const shown_ad ad = show(port, 300, "dave");
  REQUIRE(call(port, "GET", ad.click_path).status == 302);

  const std::string pixel = "/conversion?px=px-shop-0123456789abcdef&bclid=" + ad.bid_id;
  CHECK(call(port, "GET", pixel + "&cid=px-1&value=12.5&cur=EUR").status == 204);
  svc->flush_conversions();
  std::string metrics = call(admin, "GET", "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains(R"(bidder_conversions_total{result="accepted"} 1)"));

  // Bad parameters get their reason; none of them is queued.
  const auto refused = [&](const std::string& target) { return call(port, "GET", target); };
  CHECK(refused("/conversion?px=px-unknown-0123456789&cid=a&bclid=b").status == 404);
  CHECK(refused(pixel).status == 400);                                            // no cid
  CHECK(refused("/conversion?px=px-shop-0123456789abcdef&cid=a").status == 400);  // no bclid
  CHECK(refused(pixel + "&cid=a&value=101&cur=EUR").status == 400);               // over max_value
  CHECK(refused(pixel + "&cid=a&value=-1&cur=EUR").status == 400);
  CHECK(refused(pixel + "&cid=a&value=5&cur=XXX").status == 400);
  CHECK(refused(pixel + "&cid=a&cid=b").status == 400);  // repeated
  const http_reply bad = refused(pixel + "&cid=a&value=abc&cur=EUR");
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("value"));
  http_client client(port);
  http_call post_pixel;
  post_pixel.target = pixel + "&cid=a";
  CHECK(client.send(post_pixel).status == 405);

  // The same order again is a duplicate; a click id that is not ours is kept unattributed.
  CHECK(call(port, "GET", pixel + "&cid=px-1&value=12.5&cur=EUR").status == 204);
  CHECK(call(port, "GET", "/conversion?px=px-shop-0123456789abcdef&cid=zz&bclid=forged").status ==
        204);
  svc->flush_conversions();
  metrics = call(admin, "GET", "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains(R"(bidder_conversions_total{result="duplicate"} 1)"));
  CHECK_THAT(metrics,
             Catch::Contains(R"(bidder_conversions_unmatched_total{reason="no_touch"} 1)"));

  // A flood is cut at max_per_second (3): ten calls in well under 3 seconds see a 429.
  int limited = 0;
  for (int i = 0; i < 10; ++i) {
    limited += call(port, "GET", pixel + "&cid=flood-" + std::to_string(i)).status == 429;
  }
  CHECK(limited >= 1);
  svc->flush_conversions();
  CHECK_THAT(call(admin, "GET", "/metrics").body,
             Catch::Contains("bidder_conversion_pixels_dropped_total 0"));
}

TEST_CASE("an experiment's arms price, log and report apart, conversions with their arm",
          "[integration][conversions][experiment]") {
  temp_dir dir;
  std::string config = write_config(dir.path);
  {
    // The same campaigns, with "shoes" in a two-arm experiment: the treatment bids 4.0.
    std::ifstream in(config);
    std::ostringstream text;
    text << in.rdbuf();
    std::string json = text.str();
    json.insert(json.find(R"("campaigns": [)"),
                R"("experiments": [{"id": "price-test", "campaigns": ["shoes"], "arms": [
                     {"id": "control", "share": 0.5},
                     {"id": "treatment", "share": 0.5, "pricing": {"name": "fixed", "config":
                       {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig",
                        "cpm": 4.0}}}]}], )");
    std::ofstream(config) << json;
  }
  std::ostringstream log;
  const fs::path data = dir.path / "data";
  std::map<std::string, int> arms_seen;
  {
    auto svc = start(config, data, log);
    const std::uint16_t port = svc->bid_port(), admin = svc->admin_port();
    // Every user is in one arm (shares fill the space): 2.0 is control, 4.0 treatment.
    std::string treated_user;
    for (int u = 0; u < 40; ++u) {
      const std::string user = "user-" + std::to_string(u);
      const shown_ad ad = show(port, 300, user);
      (void)ad;
      const json::object bid =
          json::parse(call(port, "POST", "/bid",
                           R"({"id":"a1","imp":[{"id":"1","banner":{"w":300,"h":250}}],)"
                           R"("user":{"buyeruid":")" +
                               user + R"("}})")
                          .body)
              .at("seatbid")
              .as_array()[0]
              .at("bid")
              .as_array()[0]
              .as_object();
      const double price = bid.at("price").to_number<double>();
      CHECK((price == 2.0 || price == 4.0));
      ++arms_seen[price == 4.0 ? "treatment" : "control"];
      if (price == 4.0 && treated_user.empty()) treated_user = user;
    }
    CHECK(arms_seen["treatment"] > 5);
    CHECK(arms_seen["control"] > 5);
    REQUIRE_FALSE(treated_user.empty());
    const json::object answer = post_conversions(
        admin, conversion("order-x", R"("user_ids":["buyeruid:)" + treated_user + R"("])"));
    CHECK(count(answer, "accepted") == 1);
    // Each arm's wins were charged to its own share of the campaign's budget.
    const std::string metrics = call(admin, "GET", "/metrics").body;
    for (const std::string arm : {"control", "treatment"}) {
      const std::string series =
          R"(bidder_campaign_spend{campaign="shoes",currency="USD",arm="price-test/)" + arm +
          R"(",period="day"} )";
      const std::size_t at = metrics.find(series);
      REQUIRE(at != std::string::npos);
      CHECK(std::stod(metrics.substr(at + series.size())) > 0);
    }
    svc->stop(std::chrono::milliseconds(500));
  }
  const std::string lines = event_lines(data / "events");
  CHECK_THAT(lines, Catch::Contains(R"("experiment":"price-test","arm":"treatment")"));
  CHECK_THAT(lines, Catch::Contains(R"("experiment":"price-test","arm":"control")"));
  CHECK_THAT(lines, Catch::Contains(R"("conversion_id":"order-x")"));
  // The conversion line names the treatment arm of the touch it was credited to.
  const std::size_t at = lines.find(R"("conversion_id":"order-x")");
  REQUIRE(at != std::string::npos);
  CHECK(lines.substr(at, lines.find('\n', at) - at).find(R"("arm":"treatment")") !=
        std::string::npos);

  auto svc = start(config, data, log);
  const http_reply report =
      call(svc->admin_port(), "GET", "/admin/report?group_by=campaign,arm&format=csv");
  REQUIRE(report.status == 200);
  CHECK_THAT(report.body, Catch::StartsWith("campaign,arm,currency,"));
  CHECK_THAT(report.body, Catch::Contains("shoes,price-test/control,USD,"));
  CHECK_THAT(report.body, Catch::Contains("shoes,price-test/treatment,USD,"));
}
