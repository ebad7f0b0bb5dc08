// The config of notices and spend as the engine compiles it: the loader's checks (with the
// field named) and the compiled budgets, caps and click macro.
#include <catch2/catch.hpp>
#include <string>

#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "models/builtin.hpp"

namespace {

/// One campaign; `landing` is the creative's landing_url as a JSON value.
std::string config_with(const std::string& campaign_extra,
                        const std::string& landing = R"("https://a.com/")",
                        const std::string& settings = "") {
  return "{" + settings + (settings.empty() ? "" : ", ") +
         R"("campaigns": [{"id": "c1", "status": "ACTIVE", "advertiser_domains": ["a.com"],
      "max_cpm": 5, "creatives": [{"id": "cr1", "banner": {"sizes": [{"w": 300, "h": 250}]},
      "markup": "<a href=\"{{CLICK_URL}}\">x</a>", "landing_url": )" +
         landing + R"(}], "pricing": {"name": "fixed", "config": {"@type":
      "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1}})" +
         (campaign_extra.empty() ? "" : ", " + campaign_extra) + "}]}";
}

}  // namespace

TEST_CASE("bad budgets, pacing, caps and landing pages are refused with the field named",
          "[engine][spend][config]") {
  struct bad {
    std::string campaign, landing, settings, expected;
  };
  const std::string ok = R"("https://a.com/")";
  const std::vector<bad> cases = {
      {R"("budget": {"daily": -1})", ok, "",
       "campaign \"c1\": budget.daily: must be a number >= 0"},
      {R"("budget": {"lifetime": 2e9})", ok, "", "budget.lifetime: more than 1e9"},
      {R"("pacing": "EVEN")", ok, "", "pacing: EVEN spreads the daily budget"},
      {R"("frequency_caps": [{"period": "DAY"}])", ok, "",
       "frequency_caps[0].max_impressions: must be > 0"},
      {R"("frequency_caps": [{"max_impressions": 3}])", ok, "",
       "frequency_caps[0].period: say HOUR, DAY or WEEK"},
      {"", R"x("javascript:alert(1)")x", "",
       "creatives[0].landing_url: needs an http:// or https:// URL"},
      {"", R"("https://a.com/\r\nSet-Cookie: x")", "", "creatives[0].landing_url: needs an http"},
      {"", R"("")", "", "creatives[0].landing_url: missing: the markup uses"},
      {"", ok, R"("reservation_ttl_seconds": 1)", "reservation_ttl_seconds: from 2 to 3600"},
      {"", ok, R"("notice_max_age_seconds": 99999999)", "notice_max_age_seconds: at most"},
      {"", ok, R"("notice_table_slots": 10)", "notice_table_slots: from 1024"},
  };
  for (const bad& c : cases) {
    INFO(c.expected);
    const std::string json = config_with(c.campaign, c.landing, c.settings);
    auto config = bidder::config::parse(json, "<test>");
    REQUIRE_FALSE(config);
    CHECK_THAT(config.error().message, Catch::Contains(c.expected));
  }
}

TEST_CASE("budgets, pacing and caps compile into the snapshot and the click macro is cut out",
          "[engine][spend][config]") {
  auto config = bidder::config::parse(
      config_with(R"("budget": {"daily": 12.5, "lifetime": 100, "count_on": "BILL"},
                     "pacing": "EVEN",
                     "frequency_caps": [{"max_impressions": 3, "period": "HOUR"},
                                        {"max_impressions": 9, "period": "WEEK"}])"),
      "<test>");
  INFO((config ? std::string() : config.error().message));
  REQUIRE(config);
  CHECK((*config)->notice_max_age_seconds() == 3600);  // defaults filled in
  CHECK((*config)->reservation_ttl_seconds() == 60);
  bidder::pricing::registry registry;
  REQUIRE(bidder::models::register_builtin_models(registry));
  auto snap = bidder::engine::build_snapshot(**config, registry);
  REQUIRE(snap);
  const auto& c = (*snap)->campaigns[0];
  CHECK(c.budget.daily == bidder::spend::amount_from_units(12.5));
  CHECK(c.budget.lifetime == bidder::spend::amount_from_units(100));
  CHECK(c.budget.pacing == bidder::spend::pacing_mode::even);
  CHECK(c.budget.counted_on == bidder::spend::count_on::bill);
  REQUIRE(c.frequency_caps.size() == 2);
  CHECK(c.frequency_caps[0].max_impressions == 3);
  CHECK(c.frequency_caps[0].period == bidder::spend::cap_period::hour);
  CHECK(c.frequency_caps[1].period == bidder::spend::cap_period::week);
  REQUIRE(c.account != nullptr);
  CHECK(c.account->id() == "c1");
  CHECK((*snap)->find_campaign("c1") == &c);
  CHECK((*snap)->find_campaign("c2") == nullptr);
  const auto* creative = (*snap)->find_creative(c, "cr1");
  REQUIRE(creative != nullptr);
  CHECK(creative->landing_url == "https://a.com/");
  REQUIRE(creative->markup_parts.size() == 2);
  CHECK(creative->markup_parts[0] == "<a href=\"");
  CHECK(creative->markup_parts[1] == "\">x</a>");
}

TEST_CASE("a conversion pixel's rate window takes max_per_second a second, then resets",
          "[engine][unit]") {
  bidder::engine::compiled_pixel pixel;
  pixel.max_per_second = 3;
  const bidder::unix_seconds t = 1'795'305'600;
  int taken = 0;
  for (int i = 0; i < 10; ++i) taken += pixel.try_take(t);
  CHECK(taken == 3);
  CHECK(pixel.try_take(t + 1));
  CHECK(pixel.try_take(t + 1));
  CHECK(pixel.try_take(t + 1));
  CHECK_FALSE(pixel.try_take(t + 1));
}
