#include "bidder/engine/auction.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bidder/audience/store.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/core/json_text.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/openrtb/json_writer.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"
#include "tests/support/snapshot.hpp"
#include "tests/support/tcf_string.hpp"

namespace {

using namespace std::chrono_literals;
using bidder::steady_clock;
using bidder::unix_seconds;
using bidder::engine::auction;
using bidder::engine::no_bid_reason;
using bidder::engine::outcome;
using bidder::engine::request_context;
using bidder::engine::snapshot;
using bidder::openrtb::markup_type;

constexpr unix_seconds day = 86400;
constexpr unix_seconds now_s = 1'750'000'000;  // 2025-06-15T15:06:40Z

// ---- config ------------------------------------------------------------------------------

/// A campaign's fields as raw JSON values; fields set to "" are left out.
using fields = std::vector<std::pair<std::string, std::string>>;

std::string fixed_pricing(double cpm) {
  return R"({"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": )" +
         std::to_string(cpm) + "}}";
}

/// An active banner campaign (300x250 and 728x90) priced at a fixed `cpm` USD, max 10.
fields campaign(const std::string& id, double cpm) {
  return {
      {"id", "\"" + id + "\""},
      {"status", "\"ACTIVE\""},
      {"advertiser_domains", "[\"shop.example\"]"},
      {"categories", "[\"IAB22\"]"},
      {"max_cpm", "10"},
      {"creatives", R"([{"id": "cr-)" + id +
                        R"(", "banner": {"sizes": [{"w": 300, "h": 250}, {"w": 728, "h": 90}]},
                           "markup": "<img src=\"https://shop.example/px?p=${AUCTION_PRICE}\">"}])"},
      {"pricing", fixed_pricing(cpm)},
  };
}

fields with(fields f, const std::string& key, const std::string& value) {
  for (auto& [k, v] : f) {
    if (k == key) {
      v = value;
      return f;
    }
  }
  f.emplace_back(key, value);
  return f;
}

std::string object(const fields& f) {
  std::string out = "{";
  for (const auto& [k, v] : f) {
    if (v.empty()) continue;
    if (out.size() > 1) out += ", ";
    out += "\"" + k + "\": " + v;
  }
  return out + "}";
}

const std::string default_settings =
    R"("notice_base_url": "https://bid.example/", "currency_rates": {"EUR": 0.9, "JPY": 150})";

/// Parses a config with these campaigns and compiles it with the built-in models.
std::shared_ptr<const snapshot> build(const std::vector<fields>& campaigns,
                                      const std::string& settings = default_settings) {
  std::string json = "{" + settings + (settings.empty() ? "" : ", ") + "\"campaigns\": [";
  for (std::size_t i = 0; i < campaigns.size(); ++i) {
    json += (i > 0 ? ", " : "") + object(campaigns[i]);
  }
  json += "]}";
  return bidder::test::compile_config(json);
}

// ---- audience ----------------------------------------------------------------------------

/// An in-memory audience store that records every key it is asked for.
class fake_store final : public bidder::audience::store {
 public:
  void add(const std::string& key, std::vector<bidder::audience::membership> memberships) {
    users_[key] = std::move(memberships);
  }

  bidder::audience::lookup_status lookup(
      std::string_view user_key, unix_seconds now,
      std::vector<bidder::audience::membership_view>& out) noexcept override {
    keys.emplace_back(user_key);
    times.push_back(now);
    auto it = users_.find(std::string(user_key));
    if (it == users_.end()) return bidder::audience::lookup_status::not_found;
    for (const auto& m : it->second) {
      if (m.expires_at != 0 && m.expires_at <= now) continue;  // as the real store does
      out.push_back({m.segment, m.last_seen, m.expires_at});
    }
    return bidder::audience::lookup_status::found;
  }

  bidder::result<void> write_user(
      std::string_view user_key,
      std::span<const bidder::audience::membership> memberships) override {
    users_[std::string(user_key)].assign(memberships.begin(), memberships.end());
    return {};
  }

  bidder::result<bool> is_empty() override { return users_.empty(); }

  void prefetch(std::string_view user_key) const noexcept override {
    prefetched.emplace_back(user_key);
  }

  std::vector<std::string> keys;                // every key looked up, in order
  mutable std::vector<std::string> prefetched;  // every key prefetched, in order
  std::vector<unix_seconds> times;              // the `now` of every look-up, in order

 private:
  std::map<std::string, std::vector<bidder::audience::membership>> users_;
};

// ---- clock -------------------------------------------------------------------------------

steady_clock::time_point arrival_time() { return steady_clock::time_point(1000s); }
steady_clock::time_point way_past_deadline() { return arrival_time() + 10s; }

// ---- request -----------------------------------------------------------------------------

/// One auction: a site request with one 300x250 banner imp, a fake store and a fake clock.
struct fixture {
  fake_store store;
  auction auc{&store, 3, 0xfeed};
  bidder::openrtb::bid_request request;
  bidder::openrtb::bid_response response;
  request_context ctx;

  fixture() {
    request.id = "req-1";
    request.inventory = bidder::openrtb::inventory_kind::site;
    request.domain = "news.example.com";
    bidder::openrtb::imp& imp = request.imps.emplace();
    imp.id = "imp-1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
    ctx.arrival = arrival_time();
    ctx.now = &arrival_time;
    ctx.wall_now = now_s;
  }

  bidder::openrtb::imp& imp(std::size_t i = 0) { return request.imps[i]; }

  outcome run(const snapshot& snap) {
    ctx.deadline = bidder::engine::compute_deadline(ctx.arrival, request.tmax_ms, snap.config);
    return auc.run(snap, request, ctx, response);
  }

  /// Runs and requires exactly one bid; returns it.
  const bidder::openrtb::bid& bid_on(const snapshot& snap) {
    const outcome o = run(snap);
    INFO("no bid: " << bidder::engine::to_string(o.reason));
    REQUIRE(o.is_bid());
    REQUIRE(response.bids.size() == 1);
    return response.bids[0];
  }

  /// Runs and requires no bid; returns the reason.
  no_bid_reason no_bid(const snapshot& snap) {
    const outcome o = run(snap);
    CHECK_FALSE(o.is_bid());
    CHECK(response.bids.empty());
    return o.reason;
  }
};

std::vector<std::string> strings(std::span<const std::string> v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("a banner request gets a bid at the model's price with every bid field",
          "[engine][unit]") {
  auto snap = build({campaign("c1", 2.5)});
  fixture f;
  f.imp().banner.formats.clear();
  f.imp().banner.formats.push_back({160, 600});  // no creative of this size
  f.imp().banner.formats.push_back({728, 90});
  const auto& bid = f.bid_on(*snap);

  CHECK(f.response.id == "req-1");
  CHECK(f.response.cur == "USD");
  CHECK(f.response.seat == "bidder");
  CHECK(bid.imp_id == "imp-1");
  CHECK(bid.price == 2.5);
  CHECK(bid.cid == "c1");
  CHECK(bid.crid == "cr-c1");
  CHECK(bid.adid == "cr-c1");
  CHECK(bid.adm == "<img src=\"https://shop.example/px?p=${AUCTION_PRICE}\">");
  CHECK(bid.w == 728);
  CHECK(bid.h == 90);
  CHECK(bid.mtype == markup_type::banner);
  CHECK(strings(bid.adomain) == std::vector<std::string>{"shop.example"});
  CHECK(strings(bid.cat) == std::vector<std::string>{"IAB22"});
  CHECK(bid.dealid.empty());
  CHECK(bid.bundle.empty());
  CHECK_FALSE(bid.id.empty());
  CHECK_THAT(bid.nurl, Catch::StartsWith("https://bid.example/notice/win?"));
  CHECK_THAT(bid.nurl, Catch::Contains("${AUCTION_PRICE}"));
  CHECK_THAT(bid.nurl, Catch::Contains("bid=" + bid.id));
  CHECK_THAT(bid.nurl, Catch::Contains("campaign=c1"));
  CHECK_THAT(bid.nurl, Catch::Contains("creative=cr-c1"));
  CHECK_THAT(bid.burl, Catch::StartsWith("https://bid.example/notice/bill?"));
  CHECK_THAT(bid.burl, Catch::Contains("${AUCTION_PRICE}"));
  CHECK_THAT(bid.lurl, Catch::StartsWith("https://bid.example/notice/loss?"));
  CHECK_THAT(bid.lurl, Catch::Contains("${AUCTION_LOSS}"));

  SECTION("the next bid of the same auction object gets another id") {
    const std::string first_id = bid.id;
    const auto& second = f.bid_on(*snap);
    CHECK(second.id != first_id);
  }
}

TEST_CASE("win, bill and click URLs carry the user's id hashes for attribution; loss URLs not",
          "[engine][unit]") {
  auto snap = build({campaign("c1", 2.5)});  // no frequency cap: attribution alone wants them
  fixture f;
  f.request.buyeruid = "b-1";
  f.request.user_id = "u-1";
  const auto& bid = f.bid_on(*snap);
  const auto users_of = [](const std::string& url) {
    const std::size_t at = url.find("&u=");
    return at == std::string::npos ? std::string()
                                   : url.substr(at + 3, url.find('&', at + 3) - at - 3);
  };
  const std::string users = users_of(bid.nurl);
  CHECK(users.size() == 16 + 1 + 16);  // two hashes joined by a dot
  CHECK(users_of(bid.burl) == users);
  CHECK(users_of(bid.lurl).empty());
  // The JSON writer copies URLs the bid marks safe as they are: escaping must change nothing.
  CHECK(bid.urls_json_safe);
  for (const std::string* url : {&bid.nurl, &bid.burl, &bid.lurl}) {
    std::string escaped;
    bidder::append_json_escaped(escaped, *url);
    CHECK(escaped == *url);
  }

  SECTION("without consent to use the ids, no URL carries them") {
    fixture g;
    g.request.buyeruid = "b-1";
    g.request.gdpr = true;  // and no consent string
    const auto& refused = g.bid_on(*snap);
    CHECK(users_of(refused.nurl).empty());
  }
}

TEST_CASE("the loss notice URL carries ${AUCTION_PRICE}", "[engine][unit]") {
  // The brief asks for ${AUCTION_PRICE} in nurl, burl and lurl; lurl carries
  // ${AUCTION_LOSS} and ${AUCTION_MIN_TO_WIN} instead.
  auto snap = build({campaign("c1", 2.5)});
  fixture f;
  const auto& bid = f.bid_on(*snap);
  CHECK_THAT(bid.lurl, Catch::Contains("${AUCTION_PRICE}"));
}

TEST_CASE("no creative of the requested size gives no_matching_creative", "[engine][unit]") {
  auto snap = build({campaign("c1", 2.5)});
  fixture f;
  f.imp().banner.formats.clear();
  f.imp().banner.formats.push_back({160, 600});
  f.imp().banner.formats.push_back({250, 300});  // w and h swapped
  CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);

  SECTION("a video-only imp does not match banner creatives") {
    f.imp().banner.present = false;
    f.imp().banner.formats.clear();
    f.imp().video.present = true;
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
}

TEST_CASE("video and audio and native creatives bid with their markup type", "[engine][unit]") {
  auto snap = build({
      with(
          campaign("v", 4), "creatives",
          R"([{"id": "v15", "video": {"mimes": ["video/mp4"], "duration_seconds": 15, "w": 640, "h": 360}, "markup": "<VAST/>"}])"),
      with(
          campaign("a", 3), "creatives",
          R"([{"id": "a30", "audio": {"mimes": ["audio/mpeg"], "duration_seconds": 30}, "markup": "<VAST/>"}])"),
      with(campaign("n", 2), "creatives", R"([{"id": "n1", "native": {}, "markup": "{}"}])"),
  });
  fixture f;
  f.imp().banner.present = false;

  SECTION("video, sized from the creative when the request gives no size") {
    f.imp().video.present = true;
    f.imp().video.mimes.push_back("video/mp4");
    f.imp().video.maxduration = 30;
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.mtype == markup_type::video);
    CHECK(bid.crid == "v15");
    CHECK(bid.price == 4);
    CHECK(bid.w == 640);
    CHECK(bid.h == 360);
  }
  SECTION("video with a mime we do not have") {
    f.imp().video.present = true;
    f.imp().video.mimes.push_back("video/ogg");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("video too long for maxduration") {
    f.imp().video.present = true;
    f.imp().video.maxduration = 10;
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("audio") {
    f.imp().audio.present = true;
    f.imp().audio.minduration = 30;
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.mtype == markup_type::audio);
    CHECK(bid.crid == "a30");
    CHECK(bid.w == 0);
  }
  SECTION("native") {
    f.imp().native.present = true;
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.mtype == markup_type::native);
    CHECK(bid.crid == "n1");
    CHECK(bid.price == 2);
  }
}

TEST_CASE("bcat blocks a campaign category and its subcategories", "[engine][unit]") {
  auto snap = build({with(campaign("c1", 2), "categories", "[\"IAB2-1\"]")});
  fixture f;
  SECTION("the parent category blocks the subcategory") {
    f.request.bcat.push_back("IAB2");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("the exact category blocks") {
    f.request.bcat.push_back("IAB25");
    f.request.bcat.push_back("IAB2-1");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("a sibling subcategory does not block") {
    f.request.bcat.push_back("IAB2-10");
    CHECK(f.bid_on(*snap).cid == "c1");
  }
  SECTION("a category sharing a prefix does not block") {
    f.request.bcat.push_back("IAB2-");
    f.request.bcat.push_back("IAB");
    CHECK(f.bid_on(*snap).cid == "c1");
  }
  SECTION("IAB2 does not block IAB22") {
    auto shop = build({campaign("c2", 2)});  // categories IAB22
    f.request.bcat.push_back("IAB2");
    CHECK(f.bid_on(*shop).cid == "c2");
  }
}

TEST_CASE("badv blocks an advertiser domain and its subdomains", "[engine][unit]") {
  auto snap = build(
      {with(campaign("c1", 2), "advertiser_domains", "[\"other.example\", \"eu.shop.example\"]")});
  fixture f;
  SECTION("exact domain") {
    f.request.badv.push_back("eu.shop.example");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("parent domain blocks the subdomain") {
    f.request.badv.push_back("shop.example");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("a domain that only ends with the same letters does not block") {
    f.request.badv.push_back("hop.example");
    f.request.badv.push_back("u.shop.example");
    CHECK(f.bid_on(*snap).cid == "c1");
  }
}

TEST_CASE("bapp blocks a campaign that advertises the listed app", "[engine][unit]") {
  auto snap = build({with(campaign("c1", 2), "advertised_app_bundle", "\"com.shop.app\"")});
  fixture f;
  SECTION("blocked") {
    f.request.bapp.push_back("com.other");
    f.request.bapp.push_back("com.shop.app");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("another app blocked: bid with the bundle") {
    f.request.bapp.push_back("com.shop.app2");
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.bundle == "com.shop.app");
  }
}

TEST_CASE("battr blocks a creative with a blocked attribute", "[engine][unit]") {
  auto snap = build({with(
      campaign("c1", 2), "creatives",
      R"([{"id": "flashy", "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "m", "attributes": [6, 3]}])")});
  fixture f;
  SECTION("blocked") {
    f.imp().banner.battr.push_back(1);
    f.imp().banner.battr.push_back(3);
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("other attributes blocked") {
    f.imp().banner.battr.push_back(4);
    CHECK(f.bid_on(*snap).crid == "flashy");
  }
}

// Attributes 1..30 are checked as bits; any other value shares one bit and goes to the lists.
TEST_CASE("battr blocks attributes outside 1..30 by value", "[engine][unit]") {
  auto snap = build({with(
      campaign("c1", 2), "creatives",
      R"([{"id": "odd", "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "m", "attributes": [31, 3]}])")});
  fixture f;
  SECTION("the same value outside the bits: blocked") {
    f.imp().banner.battr.push_back(31);
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("another value outside the bits: not blocked") {
    f.imp().banner.battr.push_back(0);
    f.imp().banner.battr.push_back(32);
    f.imp().banner.battr.push_back(-3);
    CHECK(f.bid_on(*snap).crid == "odd");
  }
  SECTION("a value in the bits beside one outside: blocked") {
    f.imp().banner.battr.push_back(99);
    f.imp().banner.battr.push_back(3);
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("the highest bit, 30") {
    f.imp().banner.battr.push_back(30);
    CHECK(f.bid_on(*snap).crid == "odd");
  }
}

TEST_CASE("a banner gets the imp's first format a creative has, creatives in config order",
          "[engine][unit]") {
  auto snap = build({with(campaign("c1", 2), "creatives",
                          R"([{"id": "flashy", "banner": {"sizes": [{"w": 300, "h": 250}]},
                                "markup": "m", "attributes": [3]},
                               {"id": "plain", "banner": {"sizes": [{"w": 728, "h": 90},
                                                                   {"w": 300, "h": 250}]},
                                "markup": "m"}])")});
  fixture f;
  SECTION("the first creative with the size") {
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.crid == "flashy");
    CHECK((bid.w == 300 && bid.h == 250));
  }
  SECTION("the imp's format order comes first") {
    f.imp().banner.formats.clear();
    f.imp().banner.formats.push_back({728, 90});
    f.imp().banner.formats.push_back({300, 250});
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.crid == "plain");
    CHECK((bid.w == 728 && bid.h == 90));
  }
  SECTION("a blocked creative gives way to the next with the size") {
    f.imp().banner.battr.push_back(3);
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.crid == "plain");
    CHECK((bid.w == 300 && bid.h == 250));
  }
  SECTION("no creative has a format") {
    f.imp().banner.formats.clear();
    f.imp().banner.formats.push_back({320, 50});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
}

TEST_CASE("the price is capped at max_cpm and a floor above it gives below_floor",
          "[engine][unit]") {
  auto snap = build({with(campaign("c1", 20), "max_cpm", "3")});
  fixture f;
  SECTION("capped") { CHECK(f.bid_on(*snap).price == 3); }
  SECTION("floor at the cap") {
    f.imp().bidfloor = 3;
    CHECK(f.bid_on(*snap).price == 3);
  }
  SECTION("floor above the cap") {
    f.imp().bidfloor = 4;
    CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
  }
}

TEST_CASE("a floor in another currency is converted with its rate", "[engine][unit]") {
  auto snap = build({campaign("c1", 2)});  // 2.00 USD; EUR rate 0.9 per USD
  fixture f;
  f.imp().bidfloorcur = "EUR";
  SECTION("1.70 EUR is 1.89 USD: below the price") {
    f.imp().bidfloor = 1.7;
    CHECK(f.bid_on(*snap).price == 2);
  }
  SECTION("1.90 EUR is 2.11 USD: above the price") {
    f.imp().bidfloor = 1.9;
    CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
  }
  SECTION("a floor in a currency without a rate cannot be met") {
    f.imp().bidfloorcur = "CHF";
    f.imp().bidfloor = 0.01;
    CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
  }
}

TEST_CASE("the response is in the first request currency we have a rate for", "[engine][unit]") {
  auto snap = build({campaign("c1", 2)});
  fixture f;
  SECTION("JPY") {
    f.request.cur.push_back("JPY");
    CHECK(f.bid_on(*snap).price == 300);
    CHECK(f.response.cur == "JPY");
  }
  SECTION("an unknown currency first") {
    f.request.cur.push_back("XXX");
    f.request.cur.push_back("EUR");
    f.request.cur.push_back("JPY");
    CHECK(f.bid_on(*snap).price == Approx(1.8));
    CHECK(f.response.cur == "EUR");
  }
  SECTION("a JPY floor with a JPY response") {
    f.request.cur.push_back("JPY");
    f.imp().bidfloorcur = "JPY";
    f.imp().bidfloor = 299;
    CHECK(f.bid_on(*snap).price == 300);
    f.imp().bidfloor = 301;
    CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
  }
  SECTION("only unknown currencies") {
    f.request.cur.push_back("XXX");
    f.request.cur.push_back("CHF");
    CHECK(f.no_bid(*snap) == no_bid_reason::currency);
  }
}

TEST_CASE("a campaign in another currency converts its price to the response currency",
          "[engine][unit]") {
  // 1.8 EUR at 0.9 EUR per USD is 2 USD.
  auto snap = build({with(with(campaign("c1", 1.8), "currency", "\"EUR\""), "max_cpm", "5")});
  fixture f;
  CHECK(f.bid_on(*snap).price == Approx(2.0));
  f.request.cur.push_back("EUR");
  CHECK(f.bid_on(*snap).price == Approx(1.8));
}

TEST_CASE("wseat without our seat or bseat with it gives seat_blocked", "[engine][unit]") {
  auto snap = build({campaign("c1", 2)});
  fixture f;
  SECTION("wseat without us") {
    f.request.wseat.push_back("someone-else");
    CHECK(f.no_bid(*snap) == no_bid_reason::seat_blocked);
  }
  SECTION("bseat with us") {
    f.request.bseat.push_back("someone-else");
    f.request.bseat.push_back("bidder");
    CHECK(f.no_bid(*snap) == no_bid_reason::seat_blocked);
  }
  SECTION("wseat with us") {
    f.request.wseat.push_back("someone-else");
    f.request.wseat.push_back("bidder");
    CHECK(f.bid_on(*snap).cid == "c1");
  }
}

TEST_CASE("a private auction gets no open-auction bid", "[engine][unit]") {
  auto snap = build({campaign("c1", 2)});
  fixture f;
  f.imp().private_auction = true;
  auto& deal = f.imp().deals.emplace();
  deal.id = "someone-elses-deal";
  CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
}

TEST_CASE("a deal campaign bids only through its deal and at least at the deal floor",
          "[engine][unit]") {
  auto snap = build({
      with(campaign("deal-campaign", 5), "targeting", R"({"deal_ids": ["deal-1"]})"),
  });
  fixture f;
  SECTION("no deal in the request") {
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("another deal") {
    f.imp().deals.emplace().id = "deal-2";
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("its deal, floor below the price, in a private auction") {
    f.imp().private_auction = true;
    f.imp().deals.emplace().id = "deal-2";
    auto& deal = f.imp().deals.emplace();
    deal.id = "deal-1";
    deal.bidfloor = 4;
    f.imp().bidfloor = 8;  // the deal's floor applies, not the imp's
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.dealid == "deal-1");
    CHECK(bid.price == 5);
    CHECK(bid.cid == "deal-campaign");
  }
  SECTION("its deal, floor above the price") {
    auto& deal = f.imp().deals.emplace();
    deal.id = "deal-1";
    deal.bidfloor = 6;
    CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
  }
  SECTION("its deal, floor in EUR above the price once converted") {
    auto& deal = f.imp().deals.emplace();
    deal.id = "deal-1";
    deal.bidfloor = 4.6;  // 5.11 USD
    deal.bidfloorcur = "EUR";
    CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
  }
  SECTION("its deal, with a wseat that excludes our seat") {
    auto& deal = f.imp().deals.emplace();
    deal.id = "deal-1";
    deal.wseat.push_back("other-seat");
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("its deal, with a wseat that includes our seat") {
    auto& deal = f.imp().deals.emplace();
    deal.id = "deal-1";
    deal.wseat.push_back("other-seat");
    deal.wseat.push_back("bidder");
    CHECK(f.bid_on(*snap).dealid == "deal-1");
  }
}

TEST_CASE("an audience campaign bids only for users in its segment within the window",
          "[engine][unit]") {
  auto snap = build({with(campaign("auto", 6), "targeting",
                          R"({"audience": {"all_of": [{"segment": "auto-site-visitor",
                                                       "within_days": 10}],
                                           "none_of": [{"segment": "already-bought"}]}})")});
  fixture f;
  f.request.buyeruid = "b-1";
  f.request.user_id = "u-1";

  SECTION("seen 2 days ago") {
    f.store.add("user:u-1", {{"auto-site-visitor", now_s - 2 * day}, {"unrelated", now_s}});
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.cid == "auto");
    CHECK(bid.price == 6);
    CHECK(f.store.keys == std::vector<std::string>{"buyeruid:b-1", "user:u-1"});
    CHECK(f.auc.stats().found.load() == 1);
  }
  SECTION("seen 20 days ago") {
    f.store.add("user:u-1", {{"auto-site-visitor", now_s - 20 * day}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
    CHECK_FALSE(f.store.keys.empty());
  }
  SECTION("seen 20 days ago under one id and 2 days ago under another") {
    f.store.add("buyeruid:b-1", {{"auto-site-visitor", now_s - 20 * day}});
    f.store.add("user:u-1", {{"auto-site-visitor", now_s - 2 * day}});
    CHECK(f.bid_on(*snap).cid == "auto");
  }
  SECTION("in the none_of segment") {
    f.store.add("user:u-1",
                {{"auto-site-visitor", now_s - 2 * day}, {"already-bought", now_s - 300 * day}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("an unknown user") {
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
    CHECK(f.store.keys == std::vector<std::string>{"buyeruid:b-1", "user:u-1"});
  }
  SECTION("the store is asked at the request's wall-clock time") {
    f.ctx.wall_now = now_s + 123;
    f.store.add("user:u-1", {{"auto-site-visitor", now_s - 2 * day}});
    CHECK(f.bid_on(*snap).cid == "auto");
    CHECK(f.store.times == std::vector<unix_seconds>{now_s + 123, now_s + 123});
  }
  SECTION("a membership the store reports expired at that time does not count") {
    f.store.add("user:u-1", {{"auto-site-visitor", now_s - 2 * day, now_s}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
    f.ctx.wall_now = now_s - 1;  // one second before it expires
    CHECK(f.bid_on(*snap).cid == "auto");
  }
}

TEST_CASE("a two-level audience expression is honoured through the snapshot", "[engine][unit]") {
  // all(car@10, any(affluent, 3p:acme:123), not(all(buyer@30, ev:converted)))
  auto snap =
      build({with(campaign("combined", 6), "targeting", R"({"audience": {
      "all_of": [{"segment": "car", "within_days": 10},
                 {"expression": {"any_of": [{"segment": "affluent"},
                                            {"segment": "3p:acme:123"}]}}],
      "none_of": [{"expression": {"all_of": [{"segment": "buyer", "within_days": 30},
                                             {"segment": "ev:converted"}]}}]}})")},
            default_settings + R"(, "data_providers": [{"id": "acme", "data_ids": ["7"]}])");
  REQUIRE(snap->campaigns[0].needs_audience);
  fixture f;
  f.request.user_id = "u-1";
  SECTION("car recently (first-party) and acme's segment 123 in the request: bids") {
    f.store.add("user:u-1", {{"car", now_s - 2 * day}});
    f.request.data_segments.push_back(
        {"7", "", 0, bidder::openrtb::data_origin::user, std::string_view("123")});
    CHECK(f.bid_on(*snap).cid == "combined");
  }
  SECTION("car too long ago: no bid") {
    f.store.add("user:u-1", {{"car", now_s - 11 * day}, {"affluent", now_s}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("neither any_of segment: no bid") {
    f.store.add("user:u-1", {{"car", now_s}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("a recent buyer who converted is excluded") {
    f.store.add(
        "user:u-1",
        {{"car", now_s}, {"affluent", now_s}, {"buyer", now_s - 5 * day}, {"ev:converted", now_s}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("a buyer long ago who converted is not excluded (recency inside the nested group)") {
    f.store.add("user:u-1", {{"car", now_s},
                             {"affluent", now_s},
                             {"buyer", now_s - 50 * day},
                             {"ev:converted", now_s}});
    CHECK(f.bid_on(*snap).cid == "combined");
  }
  SECTION("segments split over two of the user's ids still combine") {
    f.request.buyeruid = "b-1";
    f.store.add("buyeruid:b-1", {{"car", now_s - day}});
    f.store.add("user:u-1", {{"affluent", now_s}});
    CHECK(f.bid_on(*snap).cid == "combined");
  }
}

TEST_CASE("a campaign of exclusions only still needs audience data", "[engine][unit]") {
  auto snap = build({with(campaign("exclusions", 6), "targeting", R"({"audience": {
      "none_of": [{"expression": {"any_of": [{"segment": "buyer"}, {"segment": "churned"}]}}]}})")});
  REQUIRE(snap->campaigns[0].needs_audience);
  REQUIRE(snap->needs_audience_lookup);
  CHECK(snap->campaigns[0].audience.matches_no_segments());
  fixture f;
  f.request.user_id = "u-1";
  SECTION("an unknown user matches") { CHECK(f.bid_on(*snap).cid == "exclusions"); }
  SECTION("a churned user does not") {
    f.store.add("user:u-1", {{"churned", now_s}});
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
  SECTION("without consent to use audience data it does not bid") {
    f.request.coppa = true;
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  }
}

TEST_CASE("privacy signals stop audience bids without reading the store", "[engine][unit]") {
  auto snap = build({
      with(campaign("audience", 8), "targeting",
           R"({"audience": {"all_of": [{"segment": "auto-site-visitor"}]}})"),
      campaign("contextual", 2),
  });
  fixture f;
  f.request.user_id = "u-1";
  f.store.add("user:u-1", {{"auto-site-visitor", now_s - day}});

  SECTION("no privacy signal: the audience campaign wins") {
    CHECK(f.bid_on(*snap).cid == "audience");
    CHECK(f.store.keys == std::vector<std::string>{"user:u-1"});
  }
  // A TCF v2 string granting purposes 1, 3 and 4 (tests/support/tcf_string.hpp).
  const std::string consent = bidder::test::tc_string({});
  SECTION("gdpr=1 with a consent string granting purposes 1, 3 and 4: the audience campaign wins") {
    f.request.gdpr = true;
    f.request.consent = consent;
    CHECK(f.bid_on(*snap).cid == "audience");
  }
  SECTION("a signal that forbids audience data") {
    bidder::test::tc_fields no_profile;  // purpose 3 (a personalised ads profile) refused
    no_profile.purposes_consent = {1, 2, 4};
    const std::string refused = bidder::test::tc_string(no_profile);
    const std::string signal =
        GENERATE("coppa", "gdpr", "gdpr-malformed", "gdpr-no-purpose-3", "us_privacy");
    CAPTURE(signal);
    if (signal == "coppa") f.request.coppa = true;
    if (signal.starts_with("gdpr")) f.request.gdpr = true;
    if (signal == "gdpr-malformed") f.request.consent = "consent";
    if (signal == "gdpr-no-purpose-3") f.request.consent = refused;
    if (signal == "us_privacy") f.request.us_privacy = "1YYN";
    const auto& bid = f.bid_on(*snap);
    CHECK(bid.cid == "contextual");
    CHECK(bid.price == 2);
    CHECK(f.store.keys.empty());
    CHECK(f.auc.stats().skipped_for_privacy.load() == 1);
    CHECK(f.auc.stats().lookups.load() == 0);
  }
  SECTION("us_privacy without an opt-out allows audience data") {
    f.request.us_privacy = "1YNN";
    CHECK(f.bid_on(*snap).cid == "audience");
  }
}

TEST_CASE("the store is prefetched, then read only when a campaign passes the request's rules",
          "[engine][unit]") {
  auto snap = build({with(campaign("us-audience", 8), "targeting",
                          R"({"countries": ["USA"],
                              "audience": {"all_of": [{"segment": "auto-site-visitor"}]}})")});
  fixture f;
  f.request.user_id = "u-1";
  f.request.ifa = "ifa-1";
  f.store.add("user:u-1", {{"auto-site-visitor", now_s - day}});
  const std::vector<std::string> user_keys{"user:u-1", "ifa:ifa-1"};
  SECTION("a request the campaign may take: every key prefetched, then looked up") {
    f.request.country = "USA";
    CHECK(f.bid_on(*snap).cid == "us-audience");
    CHECK(f.store.prefetched == user_keys);
    CHECK(f.store.keys == user_keys);
  }
  SECTION("a request no campaign may take: the audience is not read") {
    f.request.country = "CAN";
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
    CHECK(f.store.keys.empty());
    CHECK(f.auc.stats().lookups.load() == 0);
  }
  SECTION("without consent, nothing is prefetched either") {
    f.request.country = "USA";
    f.request.coppa = true;
    CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
    CHECK(f.store.prefetched.empty());
    CHECK(f.store.keys.empty());
  }
}

TEST_CASE("each bid's JSON markup carries its own signed click URL", "[engine][unit]") {
  auto snap = build({with(campaign("clicky", 3), "creatives", R"([{"id": "cr-clicky",
      "banner": {"sizes": [{"w": 300, "h": 250}]},
      "markup": "<a href=\"{{CLICK_URL}}\" title=\"say \\\"hi\\\"\">go</a>",
      "landing_url": "https://shop.example/landing"}])")});
  fixture f;
  bidder::openrtb::imp& second = f.request.imps.emplace();
  second.id = "imp-2";
  second.banner.present = true;
  second.banner.formats.push_back({300, 250});
  REQUIRE(f.run(*snap).is_bid());
  REQUIRE(f.response.bids.size() == 2);
  std::string answer;
  bidder::openrtb::write_json_response(f.response, answer);
  for (const bidder::openrtb::bid& b : f.response.bids) {
    CAPTURE(b.adm);
    CHECK(b.adm.starts_with("<a href=\"https://bid.example/"));
    CHECK(b.adm.ends_with("\" title=\"say \\\"hi\\\"\">go</a>"));
    // The JSON answer holds exactly this bid's markup (escaped once per snapshot, joined with
    // its own click URL when written).
    std::string escaped = "\"adm\":";
    bidder::append_json_string(escaped, b.adm);
    CHECK_THAT(answer, Catch::Contains(escaped));
  }
  CHECK(f.response.bids[0].adm != f.response.bids[1].adm);  // two bids, two click URLs
}

TEST_CASE("audience_data_allowed reads coppa and gdpr with consent and the us_privacy opt-out",
          "[engine][unit]") {
  bidder::openrtb::bid_request r;
  CHECK(bidder::engine::audience_data_allowed(r));
  r.gdpr = false;
  CHECK(bidder::engine::audience_data_allowed(r));
  r.gdpr = true;
  CHECK_FALSE(bidder::engine::audience_data_allowed(r));
  r.consent = "consent";  // present but not a TCF v2 string: no consent
  CHECK_FALSE(bidder::engine::audience_data_allowed(r));
  bidder::test::tc_fields fields;
  fields.vendor_consents = {7, 42};
  const std::string consent = bidder::test::tc_string(fields);
  r.consent = consent;
  CHECK(bidder::engine::audience_data_allowed(r));
  CHECK(bidder::engine::audience_data_allowed(r, 42));       // our vendor id has consent
  CHECK_FALSE(bidder::engine::audience_data_allowed(r, 8));  // ... another has not
  r.gdpr = false;  // GDPR does not apply: the string is not read
  CHECK(bidder::engine::audience_data_allowed(r, 8));
  r.gdpr = true;
  r.us_privacy = "1-Y-";
  CHECK_FALSE(bidder::engine::audience_data_allowed(r));
  r.us_privacy = "1---";
  CHECK(bidder::engine::audience_data_allowed(r));
  r.coppa = true;
  CHECK_FALSE(bidder::engine::audience_data_allowed(r));
}

TEST_CASE("a campaign bids only inside its flight dates", "[engine][unit]") {
  // 2025-06-01T00:00:00Z is 1748736000; 2025-07-01T00:00:00Z is 1751328000.
  auto snap = build({with(with(campaign("c1", 2), "start", "\"2025-06-01T00:00:00Z\""), "end",
                          "\"2025-07-01T00:00:00Z\"")});
  fixture f;
  const auto [wall, bids] = GENERATE(table<unix_seconds, bool>({
      {1748736000 - 1, false},
      {1748736000, true},
      {now_s, true},
      {1751328000 - 1, true},
      {1751328000, false},
      {1751328000 + 100 * day, false},
  }));
  CAPTURE(wall);
  f.ctx.wall_now = wall;
  const outcome o = f.run(*snap);
  CHECK(o.is_bid() == bids);
}

TEST_CASE("a PAUSED campaign never bids", "[engine][unit]") {
  auto snap = build({with(campaign("c1", 2), "status", "\"PAUSED\"")});
  fixture f;
  CHECK(f.no_bid(*snap) == no_bid_reason::no_matching_creative);
  auto both = build({with(campaign("paused", 9), "status", "\"PAUSED\""), campaign("active", 2)});
  CHECK(f.bid_on(*both).cid == "active");
}

TEST_CASE("the best bid per imp wins among campaigns", "[engine][unit]") {
  auto snap = build({campaign("low", 2), campaign("high", 3), campaign("mid", 2.5)});
  fixture f;
  const auto& bid = f.bid_on(*snap);
  CHECK(bid.cid == "high");
  CHECK(bid.price == 3);
}

TEST_CASE("a request with two imps gets a bid for each", "[engine][unit]") {
  auto snap = build({
      campaign("c1", 2),
      with(campaign("wide", 3), "creatives",
           R"([{"id": "leader", "banner": {"sizes": [{"w": 728, "h": 90}]}, "markup": "m"}])"),
  });
  fixture f;
  auto& second = f.request.imps.emplace();
  second.id = "imp-2";
  second.banner.present = true;
  second.banner.formats.push_back({728, 90});

  const outcome o = f.run(*snap);
  REQUIRE(o.is_bid());
  REQUIRE(f.response.bids.size() == 2);
  CHECK(f.response.bids[0].imp_id == "imp-1");
  CHECK(f.response.bids[0].cid == "c1");
  CHECK(f.response.bids[0].w == 300);
  CHECK(f.response.bids[1].imp_id == "imp-2");
  CHECK(f.response.bids[1].cid == "wide");
  CHECK(f.response.bids[1].price == 3);
  CHECK(f.response.bids[0].id != f.response.bids[1].id);
}

TEST_CASE("a request past its deadline gets no bid for the deadline", "[engine][unit]") {
  auto snap = build({campaign("c1", 2)});
  fixture f;
  f.ctx.now = &way_past_deadline;
  CHECK(f.no_bid(*snap) == no_bid_reason::deadline);
  f.ctx.now = &arrival_time;
  CHECK(f.bid_on(*snap).cid == "c1");
}

TEST_CASE("compute_deadline uses tmax or the default minus the network allowance",
          "[engine][unit]") {
  bidder::engine::settings s;
  s.default_tmax_ms = 100;
  s.network_allowance_ms = 15;
  const auto t0 = arrival_time();
  CHECK(bidder::engine::compute_deadline(t0, 0, s).at() == t0 + 85ms);
  CHECK(bidder::engine::compute_deadline(t0, 200, s).at() == t0 + 185ms);
  CHECK(bidder::engine::compute_deadline(t0, 10, s).at() == t0);  // never before arrival
  CHECK(bidder::engine::compute_deadline(t0, -5, s).at() == t0 + 85ms);
  s.default_tmax_ms = 250;
  s.network_allowance_ms = 50;
  CHECK(bidder::engine::compute_deadline(t0, 0, s).at() == t0 + 200ms);

  SECTION("the snapshot carries the configured values") {
    auto snap = build({}, R"("default_tmax_ms": 300, "network_allowance_ms": 20)");
    CHECK(bidder::engine::compute_deadline(t0, 0, snap->config).at() == t0 + 280ms);
  }
}

TEST_CASE("a snapshot_holder reader sees a published snapshot on its next get()",
          "[engine][unit]") {
  auto first = build({campaign("first", 2)});
  auto second = build({campaign("second", 3), campaign("third", 1)});
  bidder::engine::snapshot_holder holder(first);
  bidder::engine::snapshot_holder::reader reader(holder);

  const snapshot& before = reader.get();
  CHECK(&before == first.get());
  CHECK(before.campaigns.size() == 1);
  const auto version = holder.version();

  holder.publish(second);
  CHECK(holder.version() == version + 1);
  CHECK(holder.current() == second);
  CHECK(before.campaigns[0].id == "first");  // the old one lives while referenced
  const snapshot& after = reader.get();
  CHECK(&after == second.get());
  CHECK(after.campaigns.size() == 2);

  // An auction object moves from one snapshot to the next without stale per-campaign state.
  fixture f;
  CHECK(f.bid_on(*first).cid == "first");
  CHECK(f.bid_on(after).cid == "second");
  CHECK(f.bid_on(*first).cid == "first");
}

TEST_CASE("build_snapshot names an unknown pricing model and the campaign", "[engine][unit]") {
  bidder::pricing::registry registry;
  REQUIRE(bidder::models::register_builtin_models(registry));
  auto config = bidder::config::parse(
      "{\"campaigns\": [" + object(with(campaign("c1", 2), "pricing", R"({"name": "magic"})")) +
          "]}",
      "<test>");
  REQUIRE(config);
  auto snap = bidder::engine::build_snapshot(**config, registry);
  REQUIRE_FALSE(snap);
  CHECK(snap.error().code == bidder::errc::invalid_config);
  CHECK_THAT(snap.error().message, Catch::Contains("campaign \"c1\""));
  CHECK_THAT(snap.error().message, Catch::Contains("magic"));
  CHECK_THAT(snap.error().message, Catch::Contains("fixed, learned, rules"));
}

// ---- spend: budgets, pacing, signed notice URLs -----------------------------------------

TEST_CASE("each bid reserves its price and a campaign out of budget stops bidding at once",
          "[engine][spend]") {
  // 2.50 CPM costs 0.0025 an impression: a 0.01 daily budget holds four bids out at once.
  auto snap = build({with(campaign("c1", 2.5), "budget", R"({"daily": 0.01})"), campaign("c2", 1)});
  snap->spend->tick(now_s);
  const bidder::spend::account& account = *snap->campaigns[0].account;
  fixture f;
  auto sent = [&f] { f.auc.report_bids(f.request, f.response, now_s); };
  for (int i = 0; i < 4; ++i) {
    CHECK(f.bid_on(*snap).cid == "c1");
    sent();
  }
  CHECK(account.reserved() == bidder::spend::amount_from_units(0.01));
  CHECK(f.bid_on(*snap).cid == "c2");  // the fifth does not fit: the next campaign bids

  SECTION("with no other campaign the answer is a no-bid for the budget") {
    auto alone = build({with(campaign("c1", 2.5), "budget", R"({"daily": 0.0025})")});
    alone->spend->tick(now_s);
    CHECK(f.bid_on(*alone).cid == "c1");
    sent();
    CHECK(f.no_bid(*alone) == no_bid_reason::budget);
  }
  SECTION("a response that is not sent gives its reservations back") {
    fixture g;
    auto alone = build({with(campaign("c1", 2.5), "budget", R"({"daily": 0.0025})")});
    alone->spend->tick(now_s);
    CHECK(g.bid_on(*alone).cid == "c1");
    g.auc.cancel_bids();
    CHECK(alone->campaigns[0].account->reserved() == 0);
    CHECK(g.bid_on(*alone).cid == "c1");
  }
}

TEST_CASE("reservations not reported are given back: by the guard on every path, or the next run",
          "[engine][spend]") {
  auto snap = build({with(campaign("c1", 2.5), "budget", R"({"daily": 1})")});
  snap->spend->tick(now_s);
  const bidder::spend::account& account = *snap->campaigns[0].account;
  const auto one_bid = bidder::spend::amount_from_units(0.0025);
  fixture f;
  SECTION("a guard destroyed without sent(), by an exception too") {
    try {
      bidder::engine::reserved_bids pending(f.auc);
      CHECK(f.bid_on(*snap).cid == "c1");
      CHECK(account.reserved() == one_bid);
      throw std::runtime_error("writing the answer failed");
    } catch (const std::runtime_error&) {
    }
    CHECK(account.reserved() == 0);
    CHECK(f.auc.pending_reservations() == 0);
  }
  SECTION("a guard told the answer was sent keeps them until the notices") {
    {
      bidder::engine::reserved_bids pending(f.auc);
      CHECK(f.bid_on(*snap).cid == "c1");
      pending.sent(f.request, f.response, now_s);
    }
    CHECK(account.reserved() == one_bid);
  }
  SECTION("a run after one whose caller forgot both") {
    CHECK(f.bid_on(*snap).cid == "c1");
    CHECK(f.bid_on(*snap).cid == "c1");  // the first run's reservation is given back here
    CHECK(account.reserved() == one_bid);
    f.auc.cancel_bids();
    CHECK(account.reserved() == 0);
  }
}

TEST_CASE("a budget-limited campaign does not bid when the spend ticker is not running",
          "[engine][spend]") {
  auto snap = build({with(campaign("c1", 2.5), "budget", R"({"lifetime": 100})")});
  fixture f;
  CHECK(f.no_bid(*snap) == no_bid_reason::budget);  // never ticked
  snap->spend->tick(now_s);
  CHECK(f.bid_on(*snap).cid == "c1");
}

TEST_CASE("an EVEN campaign bids on the share of requests its throttle lets through",
          "[engine][spend]") {
  auto snap = build(
      {with(with(campaign("c1", 2.5), "budget", R"({"daily": 1000})"), "pacing", R"("EVEN")")});
  bidder::spend::account& account = *snap->campaigns[0].account;
  bidder::spend::account::saved throttled;
  throttled.day = bidder::spend::day_of(now_s);
  throttled.pacing_rate = 0.25;
  account.restore(throttled, now_s);
  snap->spend->tick(now_s);  // the first tick under EVEN only starts measuring
  CHECK(account.pacing_rate() == Approx(0.25));
  fixture f;
  int bids = 0, paced = 0;
  for (int i = 0; i < 4000; ++i) {
    const outcome o = f.run(*snap);
    if (o.is_bid()) {
      ++bids;
      f.auc.cancel_bids();
    } else {
      CHECK(o.reason == no_bid_reason::pacing);
      ++paced;
    }
  }
  CHECK(bids > 800);
  CHECK(bids < 1200);
  CHECK(bids + paced == 4000);
}

TEST_CASE("notice URLs carry the bid price, currency and time, signed", "[engine][spend]") {
  auto snap = build({campaign("c1", 2.5)});
  auto signer = bidder::notice::signer::from_key(std::string(32, 's'));
  REQUIRE(signer.has_value());
  fixture f;
  auction signing(&f.store, 3, 0xfeed, {.signer = &*signer});
  const outcome o = signing.run(*snap, f.request, f.ctx, f.response);
  REQUIRE(o.is_bid());
  const auto& bid = f.response.bids[0];
  CHECK_THAT(bid.nurl, Catch::Contains("&bp=2500000&cur=USD&t=" + std::to_string(now_s) + "&"));
  auto sig_of = [](const std::string& url) { return url.substr(url.find("&sig=") + 5); };
  const std::string sig = sig_of(bid.nurl);
  CHECK(sig.size() == bidder::notice::signature_chars);
  // Each URL has its own signature: one cannot be replayed as another kind of notice.
  CHECK(sig_of(bid.burl) != sig);
  CHECK(sig_of(bid.lurl) != sig);
  CHECK(sig_of(bid.lurl) != sig_of(bid.burl));
  bidder::notice::bid_identity id{.request_id = "req-1",
                                  .imp_id = "imp-1",
                                  .bid_id = bid.id,
                                  .campaign_id = "c1",
                                  .creative_id = "cr-c1",
                                  .price_micros = 2'500'000,
                                  .currency = "USD",
                                  .issued_at = now_s,
                                  .users = {},
                                  .exchange = "default",
                                  .key_id = "0"};
  CHECK_THAT(bid.nurl, Catch::Contains("&x=default&k=0&"));
  auto mac = signer->new_context();
  id.purpose = static_cast<std::uint8_t>(bidder::notice::notice_kind::win);
  CHECK(mac.verify(id, sig));
  CHECK_FALSE(mac.verify(id, sig_of(bid.lurl)));  // the loss URL's signature is not a win's
  id.purpose = static_cast<std::uint8_t>(bidder::notice::notice_kind::loss);
  CHECK(mac.verify(id, sig_of(bid.lurl)));
  CHECK_FALSE(mac.verify(id, sig));
  CHECK(bid.adm == "<img src=\"https://shop.example/px?p=${AUCTION_PRICE}\">");  // no click macro
}

TEST_CASE("the highest quote wins whatever the campaigns' caps and config order",
          "[engine][unit]") {
  // "capped-high" may bid up to 20 but its model quotes 1 (3 on zip 90210); "steady" quotes
  // 2.5. The auction walks campaigns by what they can bid at most and stops early: it must
  // still find the best quote, and never skip one that could win.
  const std::string rules =
      R"({"name": "rules", "config": {"@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig", "base_cpm": 1, "rules": [{"multiplier": 3, "zip_in": {"values": ["90210"]}}]}})";
  auto snap = build({campaign("low", 0.5),
                     with(with(campaign("capped-high", 0), "pricing", rules), "max_cpm", "20"),
                     campaign("steady", 2.5), campaign("lower", 2)});
  fixture f;
  CHECK(f.bid_on(*snap).cid == "steady");
  CHECK(f.bid_on(*snap).price == 2.5);
  f.request.zip = "90210";
  CHECK(f.bid_on(*snap).cid == "capped-high");
  CHECK(f.bid_on(*snap).price == 3);
  f.imp().bidfloor = 2.8;  // only capped-high reaches the floor
  CHECK(f.bid_on(*snap).cid == "capped-high");
  f.request.zip = {};
  CHECK(f.no_bid(*snap) == no_bid_reason::below_floor);
}

namespace {

/// Rules pricing: base 2, ×3 for a car-site visit within 10 days; no audience targeting.
std::string segment_rules_pricing() {
  return R"({"name": "rules", "config": {"@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig",
             "base_cpm": 2, "rules": [{"multiplier": 3, "segment": {"segment": "car-site-visitor",
                                                                     "within_days": 10}}]}})";
}

}  // namespace

TEST_CASE("a campaign priced on segments without audience targeting reads the store",
          "[engine][unit]") {
  auto snap = build({with(campaign("priced", 1), "pricing", segment_rules_pricing())});
  REQUIRE(snap->needs_audience_lookup);
  fixture f;
  f.request.user_id = "u-1";

  SECTION("a recent member bids the multiplied price") {
    f.store.add("user:u-1", {{"car-site-visitor", now_s - 2 * day}});
    CHECK(f.bid_on(*snap).price == 6);
    CHECK(f.store.keys == std::vector<std::string>{"user:u-1"});
  }
  SECTION("a member seen too long ago bids the base price") {
    f.store.add("user:u-1", {{"car-site-visitor", now_s - 20 * day}});
    CHECK(f.bid_on(*snap).price == 2);
  }
  SECTION("a non-member bids the base price") {
    CHECK(f.bid_on(*snap).price == 2);
    CHECK(f.store.keys == std::vector<std::string>{"user:u-1"});
  }
  SECTION("without consent to use audience data it bids the base price unread") {
    f.request.coppa = true;
    f.store.add("user:u-1", {{"car-site-visitor", now_s - 2 * day}});
    CHECK(f.bid_on(*snap).price == 2);
    CHECK(f.store.keys.empty());
  }
}

TEST_CASE("no campaign that can use segments means no audience look-up", "[engine][unit]") {
  auto zip_rules =
      R"({"name": "rules", "config": {"@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig",
                        "base_cpm": 2, "rules": [{"multiplier": 2, "zip_in": {"values": ["90210"]}}]}})";
  auto snap = build({campaign("fixed", 1), with(campaign("zips", 1), "pricing", zip_rules)});
  CHECK_FALSE(snap->needs_audience_lookup);
  fixture f;
  f.request.user_id = "u-1";
  f.store.add("user:u-1", {{"car-site-visitor", now_s}});
  CHECK(f.bid_on(*snap).price == 2);
  CHECK(f.store.keys.empty());
}

TEST_CASE("the hour rule uses the user's local hour from device.geo.utcoffset, else UTC",
          "[engine][unit]") {
  // now_s is 15:06 UTC. Evening (18-22) doubles the price.
  auto evening =
      R"({"name": "rules", "config": {"@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig",
                     "base_cpm": 2, "rules": [{"multiplier": 2,
                                               "hour_of_day_in": {"values": [18, 19, 20, 21, 22]}}]}})";
  auto snap = build({with(campaign("evening", 1), "pricing", evening)});
  fixture f;
  SECTION("no offset: 15 h UTC is not evening") { CHECK(f.bid_on(*snap).price == 2); }
  SECTION("UTC+4: 19 h local") {
    f.request.utcoffset_minutes = 240;
    CHECK(f.bid_on(*snap).price == 4);
  }
  SECTION("UTC-10: 5 h local") {
    f.request.utcoffset_minutes = -600;
    CHECK(f.bid_on(*snap).price == 2);
  }
  SECTION("UTC+5:30 at 15:06 UTC is 20:36 local") {
    f.request.utcoffset_minutes = 330;
    CHECK(f.bid_on(*snap).price == 4);
  }
}

TEST_CASE("local_hour wraps below midnight and past it", "[engine][unit]") {
  bidder::openrtb::bid_request r;
  const unix_seconds midnight = 1'750'032'000;  // 2025-06-16T00:00:00Z
  CHECK(bidder::pricing::local_hour(r, midnight) == 0);
  r.utcoffset_minutes = -60;
  CHECK(bidder::pricing::local_hour(r, midnight) == 23);
  r.utcoffset_minutes = 14 * 60;
  CHECK(bidder::pricing::local_hour(r, midnight - 1) == 13);
}

// ---- experiments -------------------------------------------------------------------------

namespace {

std::string experiment_settings(double treatment_share, double holdout_share) {
  return default_settings + R"(, "experiments": [{"id": "price-test", "campaigns": ["c1"],
    "arms": [{"id": "control", "share": 0.3},
             {"id": "treatment", "share": )" +
         std::to_string(treatment_share) + R"(, "pricing": )" + fixed_pricing(4.0) + R"(},
             {"id": "holdout", "share": )" +
         std::to_string(holdout_share) + R"(, "holdout": true}]}])";
}

// What a user gets: the price of their bid, or 0 for no bid.
double price_for(const snapshot& snap, const std::string& buyeruid) {
  fixture f;
  f.request.buyeruid = buyeruid;
  const outcome o = f.run(snap);
  if (!o.is_bid()) {
    CHECK(o.reason == bidder::engine::no_bid_reason::holdout);
    return 0;
  }
  return f.response.bids[0].price;
}

}  // namespace

TEST_CASE("an experiment prices each user by their arm, stably and in proportion",
          "[engine][unit][experiment]") {
  auto snap = build({campaign("c1", 2.0)}, experiment_settings(0.2, 0.1));
  REQUIRE(snap->campaigns[0].experiment == 0);
  constexpr int users = 3000;
  std::map<double, int> by_price;
  std::vector<double> first(users);
  for (int u = 0; u < users; ++u) {
    first[u] = price_for(*snap, "user-" + std::to_string(u));
    ++by_price[first[u]];
  }
  // Control (0.3) and users in no arm (1 - 0.6) bid the campaign's 2.0; treatment 4.0; holdout
  // no bid. Shares within 3 standard deviations of 3,000 draws.
  CHECK(by_price.size() == 3);
  CHECK(std::abs(by_price[4.0] / double(users) - 0.2) < 0.025);
  CHECK(std::abs(by_price[0.0] / double(users) - 0.1) < 0.02);
  CHECK(std::abs(by_price[2.0] / double(users) - 0.7) < 0.03);
  // The same user gets the same arm every time.
  for (int u = 0; u < 50; ++u) CHECK(price_for(*snap, "user-" + std::to_string(u)) == first[u]);

  SECTION("raising the treatment's share only moves users who were in no arm") {
    auto wider = build({campaign("c1", 2.0)}, experiment_settings(0.3333, 0.1));
    int moved_in = 0;
    for (int u = 0; u < users; ++u) {
      const double now = price_for(*wider, "user-" + std::to_string(u));
      if (first[u] == 4.0 || first[u] == 0.0) CHECK(now == first[u]);  // arms keep their users
      if (first[u] == 2.0 && now == 4.0) ++moved_in;
    }
    CHECK(moved_in > 300);  // about (0.3333 - 0.2) of 3,000
  }

  SECTION("a request without a user id is in no arm: the campaign's own price") {
    fixture f;
    CHECK(f.bid_on(*snap).price == 2.0);
  }

  SECTION("the arm's model's ceiling orders the campaign") {
    CHECK(snap->campaigns[0].arms_ceiling.units() == 4.0);
  }
}

TEST_CASE("experiment arms are split independently per experiment id",
          "[engine][unit][experiment]") {
  bidder::engine::compiled_experiment a, b;
  a.salt = 1;
  b.salt = 2;
  for (auto* x : {&a, &b}) {
    x->arms.resize(2);
    x->arms[0].share = 0.5;
    x->arms[1].share = 0.5;
  }
  int same = 0;
  for (std::uint64_t u = 0; u < 4000; ++u)
    same += a.arm_of(u * 0x9e3779b97f4a7c15ULL) == b.arm_of(u * 0x9e3779b97f4a7c15ULL);
  CHECK(same > 1800);  // about half: independent, not identical
  CHECK(same < 2200);
}

TEST_CASE("each experiment arm spends from its share of the budget, never another arm's",
          "[engine][unit][experiment]") {
  // Daily budget 0.01: each of two arms of share 0.4 gets 0.004, one impression at CPM 4.0; the
  // traffic in no arm (0.2) gets 0.002.
  const std::string settings = default_settings + R"(, "experiments": [{"id": "split",
      "campaigns": ["c1"], "arms": [
        {"id": "a", "share": 0.4}, {"id": "b", "share": 0.4}]}])";
  auto snap = build({with(campaign("c1", 4.0), "budget", R"({"daily": 0.01})")}, settings);
  snap->spend->tick(now_s);
  const auto& c = snap->campaigns[0];
  REQUIRE(c.arm_spend.size() == 2);
  CHECK(c.arm_spend[0].budget.daily == bidder::spend::cost_of(bidder::money::from_units(4.0)));
  CHECK(c.arm_spend[1].budget.daily == c.arm_spend[0].budget.daily);
  CHECK(c.budget.daily == c.arm_spend[0].budget.daily / 2);
  CHECK(c.arm_spend[0].account->id() == "c1#split/a");

  // Users of each arm, found by the split itself.
  std::vector<std::string> in_a, in_b;
  for (int u = 0; in_a.size() < 2 || in_b.size() < 2; ++u) {
    const std::string user = "user-" + std::to_string(u);
    const int arm = snap->experiments[0].arm_of(
        bidder::spend::hash64("buyeruid:" + user, 0));  // the fixture's secret is 0
    if (arm == 0 && in_a.size() < 2) in_a.push_back(user);
    if (arm == 1 && in_b.size() < 2) in_b.push_back(user);
  }
  auto bid_for = [&](const std::string& user) {
    fixture f;
    f.request.buyeruid = user;
    return f.run(*snap);
  };
  CHECK(bid_for(in_a[0]).is_bid());
  const outcome second = bid_for(in_a[1]);  // arm a's share is reserved by the first bid
  CHECK_FALSE(second.is_bid());
  CHECK(second.reason == bidder::engine::no_bid_reason::budget);
  CHECK(bid_for(in_b[0]).is_bid());  // arm b still has its own share
  CHECK(c.arm_spend[0].account->reserved() == c.arm_spend[0].budget.daily);
  CHECK(c.arm_spend[1].account->reserved() == c.arm_spend[1].budget.daily);
  CHECK(c.account->reserved() == 0);
}
