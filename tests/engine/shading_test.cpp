// Bid shading through the auction and the notice processor: first-price requests only, the
// bounds (value, max CPM, floor), the signed notice field, learning from notices.
#include <catch2/catch.hpp>
#include <string>

#include "bidder/engine/auction.hpp"
#include "bidder/engine/notice_processor.hpp"
#include "bidder/shading/shader.hpp"
#include "tests/support/snapshot.hpp"

namespace {

using namespace std::chrono_literals;
using bidder::steady_clock;
using bidder::unix_seconds;
using bidder::engine::snapshot;
using bidder::notice::notice_kind;

constexpr unix_seconds now_s = 1'750'000'000;

std::string config_json(double cpm, double max_cpm) {
  return R"({"notice_base_url": "https://bid.example", "notice_max_age_seconds": 600,
    "notice_table_slots": 4096, "frequency_table_slots": 4096,
    "exchanges": [
      {"id": "fp", "shading": {"mode": "LEARNED", "exploration_share": 0, "min_observations": 20,
                              "min_factor": 0.3}},
      {"id": "fac", "shading": {"mode": "FACTOR", "exploration_share": 0}},
      {"id": "off"}],
    "campaigns": [{"id": "c1", "status": "ACTIVE", "advertiser_domains": ["shop.example"],
      "max_cpm": )" +
         std::to_string(max_cpm) + R"(, "creatives": [{"id": "cr1",
        "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "<b>ad</b>"}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": )" +
         std::to_string(cpm) + "}}}]}";
}

steady_clock::time_point arrival() { return steady_clock::time_point(1000s); }

struct fixture {
  bidder::notice::signer signer = *bidder::notice::signer::from_key(std::string(40, 'k'));
  bidder::engine::auction auction{nullptr, 1, 0xabc, {.signer = &signer}};
  bidder::engine::notice_processor notices{signer, nullptr};
  bidder::openrtb::bid_request request;
  bidder::openrtb::bid_response response;
  int next_id = 0;

  fixture() {
    request.inventory = bidder::openrtb::inventory_kind::site;
    request.domain = "news.example.com";
    request.devicetype = 2;
    request.auction_type = 1;
    auto& imp = request.imps.emplace();
    imp.id = "1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
  }

  /// One auction on `exchange`; the bid (REQUIRE'd).
  const bidder::openrtb::bid& bid(const snapshot& snap, std::string_view exchange) {
    static thread_local std::string id;
    id = "r" + std::to_string(++next_id);
    request.id = id;
    bidder::engine::request_context ctx;
    ctx.arrival = arrival();
    ctx.now = &arrival;
    ctx.wall_now = now_s;
    ctx.deadline = bidder::engine::compute_deadline(ctx.arrival, 0, snap.config);
    ctx.exchange = snap.find_exchange(exchange);
    REQUIRE(ctx.exchange);
    const auto outcome = auction.run(snap, request, ctx, response);
    INFO(bidder::engine::to_string(outcome.reason));
    REQUIRE(outcome.is_bid());
    auction.report_bids(request, response, now_s);
    return response.bids[0];
  }

  /// The exchange's side: the auction against a highest competing bid `competing`, then the
  /// bid's win or loss notice (with min-to-win = competing + 0.01).
  bool settle(const snapshot& snap, const bidder::openrtb::bid& b, double competing) {
    const bool won = b.price > competing;
    std::string url = won ? b.nurl : b.lurl;
    auto replace = [&](const std::string& macro, const std::string& value) {
      for (std::size_t at; (at = url.find(macro)) != std::string::npos;) {
        url.replace(at, macro.size(), value);
      }
    };
    replace("${AUCTION_ID}", std::string(request.id));
    replace("${AUCTION_IMP_ID}", "1");
    replace("${AUCTION_PRICE}", std::to_string(b.price));
    replace("${AUCTION_LOSS}", "102");
    replace("${AUCTION_MIN_TO_WIN}", std::to_string(competing + 0.01));
    const auto r = notices.process(snap, won ? notice_kind::win : notice_kind::loss,
                                   url.substr(url.find('?') + 1), now_s + 1);
    INFO(url << " -> " << r.message);
    CHECK(r.status == 204);
    CHECK_FALSE(r.error);
    return won;
  }
};

}  // namespace

TEST_CASE("second-price requests and exchanges without shading bid the value, unmarked",
          "[engine][shading]") {
  auto snap = bidder::test::compile_config(config_json(2.0, 10));
  fixture f;
  f.request.auction_type = 2;
  const auto& second = f.bid(*snap, "fp");
  CHECK(second.price == 2.0);
  CHECK(second.nurl.find("&s=") == std::string::npos);
  f.request.auction_type = 1;
  const auto& off = f.bid(*snap, "off");
  CHECK(off.price == 2.0);
  CHECK(off.lurl.find("&s=") == std::string::npos);
  // First price, shading on but cold: truthful, and marked for the learner.
  const auto& cold = f.bid(*snap, "fp");
  CHECK(cold.price == 2.0);
  CHECK(cold.nurl.find("&s=1.8.2000000&") != std::string::npos);
  CHECK(cold.lurl.find("&s=1.8.2000000&") != std::string::npos);
}

TEST_CASE("LEARNED shading learns from notices to bid near the price to beat, within bounds",
          "[engine][shading]") {
  auto snap = bidder::test::compile_config(config_json(2.0, 10));
  fixture f;
  const double competing = 1.0;
  double last = 0;
  int wins = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 10; ++i) {
      const auto& b = f.bid(*snap, "fp");
      CHECK(b.price <= 2.0);
      CHECK(b.price >= 0.3 * 2.0 - 1e-9);
      last = b.price;
      if (round >= 30) wins += f.settle(*snap, b, competing) ? 1 : 0;
      if (round < 30) f.settle(*snap, b, competing);
    }
    snap->shading->recompute(now_s + round);
  }
  INFO("last price " << last);
  CHECK(snap->exchanges[0].shading_state->learned(1));
  CHECK(last > competing);
  CHECK(last < 1.4);
  CHECK(wins == 100);

  SECTION("never below the floor") {
    f.request.imps[0].bidfloor = 1.7;
    CHECK(f.bid(*snap, "fp").price == Approx(1.7));
  }
  SECTION("second price stays truthful after learning") {
    f.request.auction_type = 2;
    CHECK(f.bid(*snap, "fp").price == 2.0);
  }
  SECTION("a notice whose shading field was altered fails its signature") {
    const auto& b = f.bid(*snap, "fp");
    std::string url = b.lurl;
    const std::size_t at = url.find("&s=1.6.");
    REQUIRE(at != std::string::npos);
    url.replace(at, 7, "&s=0.6.");
    const auto r =
        f.notices.process(*snap, notice_kind::loss, url.substr(url.find('?') + 1), now_s + 1);
    CHECK(r.status == 403);
  }
}

TEST_CASE("shading is capped by max CPM: the value is the model's price after the cap",
          "[engine][shading]") {
  auto snap = bidder::test::compile_config(config_json(5.0, 3.0));
  fixture f;
  for (int i = 0; i < 50; ++i) {
    const auto& b = f.bid(*snap, "fp");
    CHECK(b.price <= 3.0);
    CHECK(b.nurl.find("&s=1.8.3000000&") != std::string::npos);
    f.settle(*snap, b, 0.5);
  }
  snap->shading->recompute(now_s);
  const auto& b = f.bid(*snap, "fp");
  CHECK(b.price < 3.0);
  CHECK(b.price >= 0.9);
}

TEST_CASE("FACTOR shading bids a candidate factor of the value", "[engine][shading]") {
  auto snap = bidder::test::compile_config(config_json(2.0, 10));
  fixture f;
  // Cold: the truthful arm (1.0) until an arm has outcomes; exploration is off here.
  const auto& b = f.bid(*snap, "fac");
  CHECK(b.price == 2.0);
  CHECK(b.nurl.find("&s=1.5.2000000&") != std::string::npos);
}
