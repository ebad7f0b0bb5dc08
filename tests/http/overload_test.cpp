#include <catch2/catch.hpp>
#include <chrono>

#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/http/bid_handler.hpp"
#include "bidder/http/server.hpp"
#include "models/builtin.hpp"

// Shedding under overload: when a worker runs behind, bid requests get an immediate 204 and
// notices are still served (they are money). The server's lag probe feeds the detector; the
// load test (bench/run-all, bidbench at twice the sustainable rate) shows the effect.

namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

std::shared_ptr<const bidder::engine::snapshot> demo() {
  bidder::pricing::registry models;
  REQUIRE(bidder::models::register_builtin_models(models));
  auto config = bidder::config::parse(bidder::config::demo_config_json(), "demo");
  REQUIRE(config);
  auto snap = bidder::engine::build_snapshot(**config, models);
  REQUIRE(snap);
  return *snap;
}

bidder::http::request make(bhttp::verb verb, const char* target) {
  bidder::http::request req{verb, target, 11};
  req.body() = R"({"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]})";
  req.prepare_payload();
  return req;
}

}  // namespace

TEST_CASE("the overload detector turns on above its threshold and off below half of it",
          "[http][unit]") {
  bidder::http::overload_detector d(10ms);
  CHECK_FALSE(d.shedding());
  d.sample(9ms);
  CHECK_FALSE(d.shedding());
  d.sample(11ms);
  CHECK(d.shedding());
  d.sample(6ms);  // between half and the threshold: stays on
  CHECK(d.shedding());
  d.sample(4ms);
  CHECK_FALSE(d.shedding());

  bidder::http::overload_detector never(0ms);
  never.sample(1s);
  CHECK_FALSE(never.shedding());
}

TEST_CASE("a shed bid request gets 204 and counts as an overload no-bid; notices are not shed",
          "[http][unit]") {
  bidder::engine::snapshot_holder holder(demo());
  bidder::http::bid_handler h(holder, nullptr, 0, 1, 64 * 1024);
  const auto overload = static_cast<std::size_t>(bidder::engine::no_bid_reason::overload);

  bidder::http::response res;
  auto bid = make(bhttp::verb::post, "/bid");
  REQUIRE(h.shed(bid, res));
  CHECK(res.result() == bhttp::status::no_content);
  CHECK(res["x-openrtb-version"] == "2.6");
  CHECK(h.metrics().no_bids[overload].load() == 1);
  CHECK(h.metrics().requests.load() == 1);

  bidder::http::response other;
  auto with_query = make(bhttp::verb::post, "/bid?x=1");
  CHECK(h.shed(with_query, other));
  auto notice = make(bhttp::verb::get, "/notice/win?bid=x");
  CHECK_FALSE(h.shed(notice, other));
  auto click = make(bhttp::verb::get, "/click?bid=x");
  CHECK_FALSE(h.shed(click, other));
  auto unknown = make(bhttp::verb::post, "/elsewhere");
  CHECK_FALSE(h.shed(unknown, other));
  CHECK(h.metrics().no_bids[overload].load() == 2);
}
