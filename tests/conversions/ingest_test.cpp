#include "bidder/conversions/ingest.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "bidder/conversions/attribution.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace bidder::conversions;
using bidder::money;
using bidder::unix_seconds;

constexpr unix_seconds t0 = 1'795'305'600;  // 2026-11-22T00:00:00Z
constexpr unix_seconds day = 86'400;

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-ingest-test") {}
};

// Two campaigns of shop.example (30-day click, 1-day view windows by default) and one of
// other.example with 7-day / 1-hour windows. Rates: 1 USD = 0.5 EUR (EUR is worth 2 USD).
struct fixture {
  temp_dir dir;
  std::unique_ptr<conversion_store> store;
  std::map<std::string, campaign_terms, std::less<>> campaigns;
  ingest_context ctx;

  fixture() { open(); }
  void open() {
    store.reset();
    auto s = conversion_store::open({.dir = dir.path});
    REQUIRE(s.has_value());
    store = std::move(*s);
    campaigns["c1"] = {.advertiser_domains = {"shop.example"}, .first_advertiser = "shop.example"};
    campaigns["c2"] = {.advertiser_domains = {"shop.example", "shop.example.org"},
                       .first_advertiser = "shop.example"};
    campaigns["o1"] = {.click_window = 7 * day,
                       .view_window = 3600,
                       .advertiser_domains = {"other.example"},
                       .first_advertiser = "other.example"};
    ctx.campaign = [this](std::string_view id) -> const campaign_terms* {
      auto it = campaigns.find(id);
      return it == campaigns.end() ? nullptr : &it->second;
    };
    ctx.advertiser_known = [this](std::string_view a) {
      for (const auto& [id, c] : campaigns) {
        for (const auto& d : c.advertiser_domains) {
          if (d == a) return true;
        }
      }
      return false;
    };
    ctx.convert = [](money v, std::string_view from, std::string_view to) -> std::optional<money> {
      auto usd_per = [](std::string_view c) -> double {
        return c == "USD" ? 1.0 : c == "EUR" ? 2.0 : 0.0;
      };
      if (usd_per(from) == 0 || usd_per(to) == 0) return std::nullopt;
      return money::from_micros(
          static_cast<std::int64_t>(static_cast<double>(v.micros()) * usd_per(from) / usd_per(to)));
    };
    ctx.hash_user = [](std::string_view key) { return std::hash<std::string_view>()(key); };
  }
  void touch_user(touch_kind kind, std::string bid, unix_seconds at, std::string campaign,
                  std::string user = "buyeruid:u1") {
    touch t{.kind = kind,
            .at = at,
            .bid_id = std::move(bid),
            .campaign_id = std::move(campaign),
            .creative_id = "cr",
            .exchange = "x1",
            .currency = "USD",
            .price_micros = kind == touch_kind::view ? 2'000'000 : 0};
    REQUIRE(store->record(std::vector<touch_write>{{t, {ctx.hash_user(user)}}}).has_value());
  }
  ingest_result post(const std::string& body, unix_seconds now = t0 + 40 * day) {
    auto r = ingest_postback(*store, body, now, ctx);
    REQUIRE(r.has_value());
    return *r;
  }
};

std::string line(const std::string& id, unix_seconds at, const std::string& links,
                 const std::string& owner = R"("advertiser":"shop.example")") {
  return R"({"conversion_id":")" + id + R"(","value":10,"currency":"EUR","time":)" +
         std::to_string(at) + "," + links + "," + owner + "}\n";
}

}  // namespace

TEST_CASE("last click within the click window wins over a later view", "[conversions][unit]") {
  fixture f;
  f.touch_user(touch_kind::view, "b1", t0, "c1");
  f.touch_user(touch_kind::click, "b1", t0 + 60, "c1");
  f.touch_user(touch_kind::view, "b2", t0 + 3600, "c2");
  const auto r = f.post(line("o1", t0 + 7200, R"("user_ids":["buyeruid:u1"])"));
  CHECK(r.accepted == 1);
  REQUIRE(r.committed.size() == 1);
  const stored_conversion& c = r.committed[0];
  CHECK(c.rule == credit_rule::last_click);
  CHECK(c.bid_id == "b1");
  CHECK(c.campaign_id == "c1");
  CHECK(c.touch_at == t0 + 60);
  CHECK(c.currency == "USD");
  CHECK(c.value_micros == 20'000'000);  // 10 EUR in the touch's USD
  CHECK(r.outbox_ids.size() == 1);
}

TEST_CASE("click and view windows are inclusive at their edge and exclusive past it",
          "[conversions][unit]") {
  fixture f;
  f.touch_user(touch_kind::click, "k", t0, "c1");
  f.touch_user(touch_kind::view, "v", t0 + 29 * day + 2, "c1");
  SECTION("a conversion exactly 30 days after the click is credited to it") {
    const auto r = f.post(line("o", t0 + 30 * day, R"("user_ids":["buyeruid:u1"])"));
    REQUIRE(r.committed.size() == 1);
    CHECK(r.committed[0].rule == credit_rule::last_click);
    CHECK(r.committed[0].bid_id == "k");
  }
  SECTION("one second later the view (within its day) takes it") {
    const auto r = f.post(line("o", t0 + 30 * day + 1, R"("user_ids":["buyeruid:u1"])"));
    REQUIRE(r.committed.size() == 1);
    CHECK(r.committed[0].rule == credit_rule::last_view);
    CHECK(r.committed[0].bid_id == "v");
  }
  SECTION("past both windows it is stored unattributed, the reason counted") {
    const auto r = f.post(line("o", t0 + 30 * day + day + 1, R"("user_ids":["buyeruid:u1"])"));
    CHECK(r.accepted == 0);
    CHECK(r.unmatched == 1);
    CHECK(r.unmatched_by_reason[static_cast<std::size_t>(unmatched_reason::outside_window)] == 1);
    REQUIRE(r.committed.size() == 1);
    CHECK(r.committed[0].rule == credit_rule::unattributed);
    CHECK(r.committed[0].currency == "EUR");
    CHECK(r.committed[0].value_micros == 10'000'000);
  }
  SECTION("the campaign's own windows apply") {
    f.touch_user(touch_kind::click, "ok", t0, "o1", "buyeruid:u2");
    const auto late = f.post(line("o2", t0 + 7 * day + 1, R"("user_ids":["buyeruid:u2"])",
                                  R"("advertiser":"other.example")"));
    CHECK(late.unmatched == 1);
    const auto in_time = f.post(line("o3", t0 + 7 * day, R"("user_ids":["buyeruid:u2"])",
                                     R"("advertiser":"other.example")"));
    CHECK(in_time.accepted == 1);
  }
}

TEST_CASE("a conversion before its only touch is unattributed", "[conversions][unit]") {
  fixture f;
  f.touch_user(touch_kind::click, "k", t0 + 100, "c1");
  const auto r = f.post(line("o", t0 + 50, R"("bid_id":"k")"));
  CHECK(r.unmatched == 1);
  CHECK(r.unmatched_by_reason[static_cast<std::size_t>(unmatched_reason::before_touch)] == 1);
}

TEST_CASE("click and bid ids name their touches; another advertiser's touches never count",
          "[conversions][unit]") {
  fixture f;
  f.touch_user(touch_kind::click, "mine", t0, "c2", "buyeruid:x");
  f.touch_user(touch_kind::click, "theirs", t0 + 10, "o1", "buyeruid:x");
  auto r = f.post(line("o1", t0 + 20, R"("click_id":"mine")"));
  REQUIRE(r.committed.size() == 1);
  CHECK(r.committed[0].bid_id == "mine");
  r = f.post(line("o2", t0 + 20, R"("user_ids":["buyeruid:x"])"));
  REQUIRE(r.committed.size() == 1);
  CHECK(r.committed[0].bid_id == "mine");  // not the later click of other.example
  r = f.post(line("o3", t0 + 20, R"("click_id":"theirs")"));
  CHECK(r.unmatched_by_reason[static_cast<std::size_t>(unmatched_reason::other_advertiser)] == 1);
  r = f.post(line("o4", t0 + 20, R"("click_id":"never-issued")"));
  CHECK(r.unmatched_by_reason[static_cast<std::size_t>(unmatched_reason::no_touch)] == 1);
  // Naming the campaign restricts to its own touches.
  r = f.post(line("o5", t0 + 20, R"("user_ids":["buyeruid:x"])", R"("campaign_id":"c1")"));
  CHECK(r.unmatched == 1);
}

TEST_CASE("the same conversion id counts once per advertiser, in a body and across restarts",
          "[conversions][unit]") {
  fixture f;
  f.touch_user(touch_kind::click, "k", t0, "c1");
  const std::string one = line("order-1", t0 + 10, R"("bid_id":"k")");
  auto r = f.post(one + one);
  CHECK(r.accepted == 1);
  CHECK(r.duplicate == 1);
  // Naming the campaign instead of the advertiser is still the same advertiser's order.
  r = f.post(line("order-1", t0 + 10, R"("bid_id":"k")", R"("campaign_id":"c1")"));
  CHECK(r.duplicate == 1);
  CHECK(r.committed.empty());
  f.open();  // a restart
  r = f.post(one);
  CHECK(r.duplicate == 1);
  // Another advertiser may use the same order id.
  r = f.post(line("order-1", t0 + 10, R"("bid_id":"k")", R"("advertiser":"other.example")"));
  CHECK(r.duplicate == 0);
  CHECK(r.unmatched == 1);
}

TEST_CASE("bad lines are refused with their reasons; the good ones of the body still apply",
          "[conversions][unit]") {
  fixture f;
  f.touch_user(touch_kind::click, "k", t0, "c1");
  const std::string body =
      line("ok", t0 + 10, R"("bid_id":"k")") +
      line("o2", t0 + 10, R"("bid_id":"k")", R"("campaign_id":"nope")") +
      line("o3", t0 + 10, R"("bid_id":"k")", R"("advertiser":"stranger.example")") +
      line("o4", t0 + 10, R"("bid_id":"k")", R"("campaign_id":"o1","advertiser":"shop.example")") +
      R"({"conversion_id":"o5","value":1,"currency":"JPY","bid_id":"k","advertiser":"shop.example"})"
      "\n" +
      R"({"conversion_id":"o6","value":-1,"currency":"USD","bid_id":"k","advertiser":"shop.example"})"
      "\n" +
      R"({"value":1,"currency":"USD","bid_id":"k","advertiser":"shop.example"})"
      "\n" +
      "{not json\n";
  const auto r = f.post(body);
  CHECK(r.accepted == 1);
  CHECK(r.refused == 7);
  REQUIRE(r.refused_lines.size() == 7);
  const std::vector<std::string> expected{
      "campaign_id", "advertiser", "advertiser", "currency", "value", "conversion_id", ""};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(r.refused_lines[i].line == i + 2);
    CHECK_THAT(r.refused_lines[i].reason, Catch::Contains(expected[i]));
  }
  CHECK(r.committed.size() == 1);
  const std::string answer = to_json(r);
  CHECK_THAT(answer,
             Catch::StartsWith(R"({"accepted":1,"unmatched":0,"duplicate":0,"refused":7,)"));
  CHECK_THAT(answer,
             Catch::Contains(R"({"line":2,"reason":"campaign_id: not a configured campaign"})"));
}
