#include "bidder/conversions/postback.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using bidder::conversions::conversion;
using bidder::conversions::parse_conversion;
using bidder::conversions::parse_postback;

constexpr bidder::unix_seconds now = 1'763'800'000;

// The reason a line is refused ("" when it parses).
std::string refusal(const std::string& line) {
  auto r = parse_conversion(line, now);
  return r ? std::string() : r.error().message;
}

}  // namespace

TEST_CASE("a full postback line parses into a conversion", "[conversions][unit]") {
  auto c = parse_conversion(
      R"({"conversion_id":"order-1187","value":59.9,"currency":"eur","time":"2025-11-20T10:00:00Z",)"
      R"("click_id":"ck-1","bid_id":"b-1","user_ids":["3f2a9c","uid2:AbC","ifa:6d92"],)"
      R"("campaign_id":"summer-sale","advertiser":"Shop.Example."})",
      now);
  REQUIRE(c.has_value());
  CHECK(c->conversion_id == "order-1187");
  CHECK(c->value == bidder::money::from_units(59.9));
  CHECK(c->currency == "EUR");
  CHECK(c->at == 1'763'632'800);
  CHECK(c->click_id == "ck-1");
  CHECK(c->bid_id == "b-1");
  CHECK(c->user_keys == std::vector<std::string>{"user:3f2a9c", "eid:uidapi.com:AbC", "ifa:6d92"});
  CHECK(c->campaign_id == "summer-sale");
  CHECK(c->advertiser == "shop.example");
}

TEST_CASE("the least a postback needs: an order id, a link to an ad and an owner",
          "[conversions][unit]") {
  auto c = parse_conversion(R"({"conversion_id":"o","bid_id":"b","advertiser":"a.com"})", now);
  REQUIRE(c.has_value());
  CHECK(c->at == now);  // no time: now
  CHECK(c->value.is_zero());
  CHECK(c->currency.empty());
}

TEST_CASE("every bad postback line is refused with the field and the reason",
          "[conversions][unit]") {
  const std::string link = R"("bid_id":"b","campaign_id":"c")";
  CHECK_THAT(refusal("{oops"), Catch::Contains("not JSON"));
  CHECK_THAT(refusal("[1,2]"), Catch::Contains("not a JSON object"));
  CHECK_THAT(refusal("{" + link + "}"), Catch::Contains("conversion_id: missing"));
  CHECK_THAT(refusal(R"({"conversion_id":"",)" + link + "}"),
             Catch::Contains("conversion_id: empty"));
  CHECK_THAT(refusal(R"({"conversion_id":7,)" + link + "}"),
             Catch::Contains("conversion_id: expected a string"));
  CHECK_THAT(refusal(R"({"conversion_id":")" + std::string(300, 'x') + R"(",)" + link + "}"),
             Catch::Contains("longer than 256"));
  CHECK_THAT(refusal(R"({"conversion_id":"a\u0001b",)" + link + "}"),
             Catch::Contains("control character"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","value":-1,"currency":"USD",)" + link + "}"),
             Catch::Contains("value: negative"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","value":"12",)" + link + "}"),
             Catch::Contains("value: expected a number"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","value":12,)" + link + "}"),
             Catch::Contains("currency: missing for a value"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","value":12,"currency":"EURO",)" + link + "}"),
             Catch::Contains("currency: expected a 3-letter"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","time":"yesterday",)" + link + "}"),
             Catch::Contains("time:"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","time":)" + std::to_string(now + 2 * 86400) + "," +
                     link + "}"),
             Catch::Contains("time: more than a day in the future"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","campaign_id":"c"})"),
             Catch::Contains("nothing links it to an ad"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","bid_id":"b"})"),
             Catch::Contains("campaign_id, advertiser: neither given"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","user_ids":"u1","campaign_id":"c"})"),
             Catch::Contains("user_ids: expected an array"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","user_ids":["ok",""],"campaign_id":"c"})"),
             Catch::Contains("user_ids[1]"));
  CHECK_THAT(refusal(R"({"conversion_id":"o","bidid":"b","campaign_id":"c"})"),
             Catch::Contains("bidid: unknown field"));
  CHECK_THAT(refusal("{" + std::string(20000, ' ') + "}"), Catch::Contains("line longer than"));
}

TEST_CASE("a postback body: good lines go through, bad ones are counted with their numbers",
          "[conversions][unit]") {
  const std::string body =
      R"({"conversion_id":"o1","bid_id":"b1","campaign_id":"c"})"
      "\r\n"
      "\n"
      R"({"conversion_id":"o2","value":-3,"currency":"USD","bid_id":"b2","campaign_id":"c"})"
      "\n"
      R"({"conversion_id":"o3","click_id":"k3","advertiser":"a.com"})";
  std::vector<std::string> ids;
  std::vector<std::size_t> lines;
  const auto r = parse_postback(body, now, [&](conversion&& c, std::size_t line) {
    ids.push_back(c.conversion_id);
    lines.push_back(line);
    return std::optional<std::string>();
  });
  CHECK(ids == std::vector<std::string>{"o1", "o3"});
  CHECK(lines == std::vector<std::size_t>{1, 4});
  CHECK(r.accepted == 2);
  CHECK(r.refused == 1);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line == 3);
  CHECK_THAT(r.problems[0].reason, Catch::Contains("value: negative"));

  // The handler may still refuse a good line, with its reason.
  const auto vetoed = parse_postback(body, now, [](conversion&& c, std::size_t) {
    return c.conversion_id == "o3" ? std::optional<std::string>("advertiser: unknown")
                                   : std::optional<std::string>();
  });
  CHECK(vetoed.accepted == 1);
  CHECK(vetoed.refused == 2);
  REQUIRE(vetoed.problems.size() == 2);
  CHECK(vetoed.problems[1].line == 4);
  CHECK(vetoed.problems[1].reason == "advertiser: unknown");

  // Only the first max_reported problems are kept, all are counted.
  std::string many;
  for (int i = 0; i < 10; ++i) many += "nope\n";
  const auto capped = parse_postback(
      many, now, [](conversion&&, std::size_t) { return std::optional<std::string>(); }, 3);
  CHECK(capped.refused == 10);
  CHECK(capped.problems.size() == 3);
}
