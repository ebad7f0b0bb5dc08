// Third-party segments from requests (config data_providers): which providers' segments count,
// and campaigns targeting and pricing on them through the real snapshot and auction (issue 20).
#include "bidder/engine/third_party_data.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "bidder/engine/auction.hpp"
#include "tests/support/snapshot.hpp"
#include "tests/support/tcf_string.hpp"

namespace {

using namespace std::chrono_literals;
using bidder::unix_seconds;
using bidder::openrtb::data_origin;
using bidder::openrtb::data_segment;

constexpr unix_seconds now_s = 1'750'000'000;

const std::string providers = R"("data_providers": [
    {"id": "acme", "data_names": ["Acme-Data.com"], "data_ids": ["9"], "segtax": [4]},
    {"id": "iab-content", "segtax": [6, 7], "origin": "CONTENT"},
    {"id": "unused", "data_ids": ["77"]}])";

std::string campaign(const std::string& id, double cpm, const std::string& targeting,
                     const std::string& pricing = "") {
  const std::string fixed =
      R"({"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": )" +
      std::to_string(cpm) + "}}";
  return R"({"id": ")" + id + R"(", "status": "ACTIVE", "advertiser_domains": ["shop.example"],
      "max_cpm": 20, "creatives": [{"id": "cr-)" +
         id + R"(", "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "<img>"}],
      "pricing": )" +
         (pricing.empty() ? fixed : pricing) +
         (targeting.empty() ? std::string() : R"(, "targeting": )" + targeting) + "}";
}

std::shared_ptr<const bidder::engine::snapshot> build(const std::vector<std::string>& campaigns) {
  std::string json =
      R"({"notice_base_url": "https://bid.example/", )" + providers + R"(, "campaigns": [)";
  for (std::size_t i = 0; i < campaigns.size(); ++i) json += (i ? ", " : "") + campaigns[i];
  return bidder::test::compile_config(json + "]}");
}

std::vector<std::string> collected(const bidder::engine::snapshot& snap,
                                   const bidder::openrtb::bid_request& r) {
  std::vector<bidder::segment_membership> out;
  snap.third_party.collect(r, now_s, out);
  std::vector<std::string> names;
  for (const auto& m : out) {
    CHECK(m.last_seen == now_s);
    names.emplace_back(snap.segments.name(m.segment));
  }
  return names;
}

/// One auction over a site request with a 300x250 imp (no audience store).
struct fixture {
  bidder::engine::auction auc{nullptr, 1, 0xfeed};
  bidder::openrtb::bid_request request;
  bidder::openrtb::bid_response response;
  bidder::engine::request_context ctx;
  fixture() {
    request.id = "req";
    request.inventory = bidder::openrtb::inventory_kind::site;
    request.domain = "news.example";
    auto& imp = request.imps.emplace();
    imp.id = "1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
    ctx.arrival = bidder::steady_clock::time_point(1000s);
    ctx.now = [] { return bidder::steady_clock::time_point(1000s); };
    ctx.wall_now = now_s;
  }
  /// The winning campaign, or "" for no bid.
  std::string winner(const bidder::engine::snapshot& snap) {
    ctx.deadline = bidder::engine::compute_deadline(ctx.arrival, 0, snap.config);
    if (!auc.run(snap, request, ctx, response).is_bid()) return "";
    auc.cancel_bids();
    return std::string(response.bids[0].cid);
  }
  double price() const { return response.bids[0].price; }
};

}  // namespace

TEST_CASE("a provider's named segments are collected by id or name, taxonomy and origin",
          "[engine][unit]") {
  auto snap = build({campaign("a", 1, R"({"audience": {"any_of": [
      {"segment": "3p:acme:101"}, {"segment": "3p:iab-content:483"}, {"segment": "3p:unused:1"}]}})")});
  REQUIRE_FALSE(snap->third_party.empty());
  bidder::openrtb::bid_request r;
  auto add = [&](std::string_view id, std::string_view name, int segtax, data_origin origin,
                 std::string_view segment) {
    r.data_segments.push_back({id, name, segtax, origin, segment});
  };
  SECTION("by data name, case-insensitively, or by data id; other segments are dropped") {
    add("", "acme-data.COM", 4, data_origin::user, "101");
    add("", "acme-data.COM", 4, data_origin::user, "999");
    add("9", "renamed", 4, data_origin::user, "101");
    CHECK(collected(*snap, r) == std::vector<std::string>{"3p:acme:101", "3p:acme:101"});
  }
  SECTION("a taxonomy the provider does not use, or none, is not its segment") {
    add("9", "", 5, data_origin::user, "101");
    add("9", "", 0, data_origin::user, "101");
    CHECK(collected(*snap, r).empty());
  }
  SECTION("a provider known by taxonomy only takes any provider's ids, from its origin only") {
    add("", "some-contextual-vendor.com", 7, data_origin::content, "483");
    add("", "some-contextual-vendor.com", 7, data_origin::user, "483");
    add("", "other", 6, data_origin::content, "483");
    CHECK(collected(*snap, r) ==
          std::vector<std::string>{"3p:iab-content:483", "3p:iab-content:483"});
  }
  SECTION("ids are compared exactly") {
    add("9", "", 4, data_origin::user, "101 ");
    add("9", "", 4, data_origin::user, "0101");
    CHECK(collected(*snap, r).empty());
  }
}

TEST_CASE("a snapshot naming an unknown provider or no segment id is refused", "[engine][unit]") {
  bidder::pricing::registry registry;
  REQUIRE(bidder::models::register_builtin_models(registry));
  const auto [segment, message] = GENERATE(table<std::string, std::string>({
      {"3p:nobody:1",
       "segment \"3p:nobody:1\": no data provider \"nobody\" in data_providers "
       "(known: acme, iab-content, unused)"},
      {"3p:acme:",
       "segment \"3p:acme:\": name a provider's segment as "
       "\"3p:<provider id>:<segment id>\""},
      {"3p:acme",
       "segment \"3p:acme\": name a provider's segment as "
       "\"3p:<provider id>:<segment id>\""},
  }));
  std::string json =
      R"({"notice_base_url": "https://bid.example/", )" + providers + R"(, "campaigns": [)" +
      campaign("a", 1, R"({"audience": {"all_of": [{"segment": ")" + segment + R"("}]}})") + "]}";
  auto config = bidder::config::parse(json, "<test>");
  REQUIRE(config);
  auto snap = bidder::engine::build_snapshot(**config, registry);
  REQUIRE_FALSE(snap);
  CHECK(snap.error().message == message);
}

TEST_CASE("campaigns target and price on third-party segments, under the privacy rules",
          "[engine][unit]") {
  const std::string rules =
      R"({"name": "rules", "config": {"@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig",
          "base_cpm": 2, "rules": [{"multiplier": 4, "segment": {"segment": "3p:acme:101"}}]}})";
  auto snap = build({campaign("auto", 5, R"({"audience": {"all_of": [{"segment": "3p:acme:101"}],
                                                         "none_of": [{"segment": "3p:acme:666"}]}})"),
                     campaign("priced", 0, "", rules)});
  fixture f;
  auto send = [&](std::string_view segment) {
    f.request.data_segments.push_back({"9", "", 4, data_origin::user, segment});
  };

  SECTION("without the segment: the contextual campaign at its base price") {
    send("102");
    CHECK(f.winner(*snap) == "priced");
    CHECK(f.price() == 2);
  }
  SECTION("with it: the rules model multiplies (8) and beats the targeted campaign (5)") {
    send("101");
    CHECK(f.winner(*snap) == "priced");
    CHECK(f.price() == 8);
  }
  SECTION("none_of a third-party segment excludes, and the rules price still applies") {
    send("101");
    send("666");
    CHECK(f.winner(*snap) == "priced");
    CHECK(f.price() == 8);
  }
  SECTION("no consent, no use: gdpr without consent, coppa or a CCPA opt-out") {
    send("101");
    const std::string signal = GENERATE("gdpr", "coppa", "us_privacy");
    CAPTURE(signal);
    if (signal == "gdpr") f.request.gdpr = true;
    if (signal == "coppa") f.request.coppa = true;
    if (signal == "us_privacy") f.request.us_privacy = "1YYN";
    CHECK(f.winner(*snap) == "priced");
    CHECK(f.price() == 2);
  }
  SECTION("gdpr with consent to purposes 1, 3 and 4 allows them") {
    send("101");
    const std::string consent = bidder::test::tc_string({});
    f.request.gdpr = true;
    f.request.consent = consent;
    CHECK(f.winner(*snap) == "priced");
    CHECK(f.price() == 8);
  }
}

TEST_CASE("the targeted campaign wins on its third-party segment when it pays most",
          "[engine][unit]") {
  auto snap =
      build({campaign("auto", 5, R"({"audience": {"all_of": [{"segment": "3p:acme:101"}]}})"),
             campaign("contextual", 1, "")});
  fixture f;
  CHECK(f.winner(*snap) == "contextual");
  f.request.data_segments.push_back({"", "ACME-DATA.COM", 4, data_origin::user, "101"});
  CHECK(f.winner(*snap) == "auto");
  f.request.data_segments.clear();
  f.request.data_segments.push_back({"", "ACME-DATA.COM", 4, data_origin::content, "101"});
  CHECK(f.winner(*snap) == "auto");  // acme's origin is USER_AND_CONTENT
}
