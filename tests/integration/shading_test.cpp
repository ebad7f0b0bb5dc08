// Bid shading end to end through the real service on loopback: first-price bids are shaded
// after the exchange's notices teach the learner, second-price ones are not, and what was
// learned survives a restart (docs/bid-shading.md).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bidder/app/service.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::test::http_call;
using bidder::test::http_client;
using bidder::test::http_reply;
using bidder::test::temp_dir;

std::string write_config(const fs::path& dir) {
  const fs::path config = dir / "shading.json";
  std::ofstream(config) << R"({"notice_base_url": "http://127.0.0.1:1",
    "exchanges": [
      {"id": "fp", "shading": {"mode": "LEARNED", "exploration_share": 0,
                              "min_observations": 20}}],
    "campaigns": [{"id": "c1", "status": "ACTIVE", "advertiser_domains": ["a.com"],
      "max_cpm": 10, "creatives": [{"id": "cr1", "banner": {"sizes": [{"w": 300, "h": 250}]},
        "markup": "<b>ad</b>"}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 2.0}}}]})";
  return config.string();
}

std::unique_ptr<bidder::app::service> start(const std::string& config, const fs::path& data,
                                            std::ostringstream& log) {
  bidder::app::serve_options options;
  options.config_path = config;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = data.string();
  options.threads = 2;
  options.shed_busy_share = 0;
  options.shed_queued = std::chrono::microseconds(0);
  options.shading_period = std::chrono::milliseconds(10);
  auto started = bidder::app::service::start(options, log);
  if (!started) FAIL("service did not start: " << started.error().message);
  return std::move(*started);
}

std::string request(int at) {
  return R"({"id":"auction 7","at":)" + std::to_string(at) +
         R"(,"device":{"devicetype":2},"imp":[{"id":"1","banner":{"w":300,"h":250}}]})";
}

json::object bid(std::uint16_t port, int at) {
  const http_reply reply = bidder::test::post(port, "/bid/fp", request(at));
  REQUIRE(reply.status == 200);
  return json::parse(reply.body).at("seatbid").as_array()[0].at("bid").as_array()[0].as_object();
}

double price_of(const json::object& b) {
  const json::value& p = b.at("price");
  return p.is_double() ? p.as_double() : static_cast<double>(p.as_int64());
}

// The exchange: a first-price auction against a highest competing bid of 1.00, then the
// notice (min-to-win 1.01 on a loss).
void settle(std::uint16_t port, const json::object& b) {
  const double price = price_of(b);
  const bool won = price > 1.0;
  std::string url(won ? b.at("nurl").as_string() : b.at("lurl").as_string());
  url = url.substr(url.find('/', url.find("//") + 2));
  auto replace = [&](const std::string& macro, const std::string& value) {
    for (std::size_t at; (at = url.find(macro)) != std::string::npos;) {
      url.replace(at, macro.size(), value);
    }
  };
  replace("${AUCTION_ID}", "auction%207");
  replace("${AUCTION_IMP_ID}", "1");
  replace("${AUCTION_PRICE}", std::to_string(price));
  replace("${AUCTION_LOSS}", "102");
  replace("${AUCTION_MIN_TO_WIN}", "1.01");
  http_client client(port);
  http_call call;
  call.method = "GET";
  call.target = url;
  CHECK(client.send(call).status == 204);
}

}  // namespace

TEST_CASE("first-price bids are shaded after notices, second-price ones not; a restart keeps it",
          "[integration][shading]") {
  temp_dir dir;
  const std::string config = write_config(dir.path);
  double shaded = 2.0;
  {
    std::ostringstream log;
    auto svc = start(config, dir.path / "data", log);
    const std::uint16_t port = svc->bid_port();
    const json::object cold = bid(port, 1);
    CHECK(price_of(cold) == 2.0);  // nothing learned yet: truthful
    CHECK(std::string(cold.at("nurl").as_string()).find("&s=1.8.2000000&") != std::string::npos);
    // Bid and settle until the price settles near the price to beat (the background thread
    // re-estimates every 10 ms); bounded to 10 s.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int settled = 0;
    while (std::chrono::steady_clock::now() < until) {
      const json::object b = bid(port, 1);
      shaded = price_of(b);
      CHECK(shaded <= 2.0);
      CHECK(shaded >= 0.6 - 1e-9);  // min_factor 0.3 of the value
      settle(port, b);
      settled = shaded > 1.0 && shaded < 1.4 ? settled + 1 : 0;
      if (settled == 20) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    INFO("last price " << shaded);
    CHECK(settled == 20);
    CHECK(price_of(bid(port, 2)) == 2.0);  // second price: the value
    {
      http_client client(svc->admin_port());
      http_call call;
      call.method = "GET";
      call.target = "/metrics";
      const std::string metrics = client.send(call).body;
      CHECK_THAT(metrics,
                 Catch::Contains(R"(bidder_shading_outcomes_total{exchange="fp",result="win"})"));
      CHECK_THAT(metrics,
                 Catch::Contains(R"(bidder_shading_won_usd_total{exchange="fp",of="value"})"));
    }
    svc->stop(std::chrono::milliseconds(1000));
  }
  CHECK(fs::exists(dir.path / "data" / "shading.state"));
  {
    std::ostringstream log;
    auto svc = start(config, dir.path / "data", log);
    CHECK_THAT(log.str(), Catch::Contains("shading state"));
    const double after = price_of(bid(svc->bid_port(), 1));
    CHECK(after < 1.4);
    CHECK(after > 1.0);
  }
  {
    // A corrupt file: refused with its reason, shading starts cold, the bidder serves.
    std::ofstream(dir.path / "data" / "shading.state", std::ios::trunc) << "bidder-shading 1\nxx";
    std::ostringstream log;
    auto svc = start(config, dir.path / "data", log);
    CHECK_THAT(log.str(), Catch::Contains("shading state refused, shading starts cold"));
    CHECK(price_of(bid(svc->bid_port(), 1)) == 2.0);
  }
}
