#include "bidder/config/loader.hpp"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::errc;
using bidder::config::parse;

/// A campaign's fields as raw JSON values; fields set to "" are left out.
using fields = std::vector<std::pair<std::string, std::string>>;

fields default_campaign(const std::string& id) {
  return {
      {"id", "\"" + id + "\""},
      {"status", "\"ACTIVE\""},
      {"advertiser_domains", "[\"shop.example\"]"},
      {"max_cpm", "5"},
      {"creatives",
       R"([{"id": "cr-1", "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "<a>ad</a>"}])"},
      {"pricing",
       R"({"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1.5}})"},
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

/// A config document with `top_level` raw JSON members (may be empty) and these campaigns.
std::string config_json(const std::vector<fields>& campaigns, const std::string& top_level = "") {
  std::string out = "{";
  if (!top_level.empty()) out += top_level + ", ";
  out += "\"campaigns\": [";
  for (std::size_t i = 0; i < campaigns.size(); ++i) {
    if (i > 0) out += ", ";
    out += object(campaigns[i]);
  }
  return out + "]}";
}

std::string error_of(
    const bidder::result<std::shared_ptr<const bidder::config::bidder_config>>& r) {
  return r ? std::string("(no error)") : r.error().message;
}

/// Pulls the built-in models' config protos into the binary so their Any @types resolve.
void link_builtin_models() {
  bidder::pricing::registry models;
  REQUIRE(bidder::models::register_builtin_models(models));
}

// This file's temporary directories (tests/support/temp_dir.hpp).
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-config-test") {}
};

}  // namespace

TEST_CASE("the embedded demo config parses with its campaigns and rates", "[config][unit]") {
  link_builtin_models();
  auto config = parse(bidder::config::demo_config_json(), "<demo>");
  INFO(error_of(config));
  REQUIRE(config);
  const auto& c = **config;
  CHECK(c.seat() == "demo-seat");
  CHECK(c.default_tmax_ms() == 100);
  CHECK(c.network_allowance_ms() == 15);
  CHECK(c.currency_rates().at("EUR") == Approx(0.92));
  CHECK(c.currency_rates().at("JPY") == Approx(150.0));
  CHECK(c.currency_rates().at("USD") == 1.0);
  std::vector<std::string> ids;
  for (const auto& campaign : c.campaigns()) ids.push_back(campaign.id());
  CHECK(ids == std::vector<std::string>{"contextual-display", "contextual-video",
                                        "contextual-native", "contextual-audio", "auto-intenders",
                                        "premium-deal"});
  for (const auto& campaign : c.campaigns()) {
    CAPTURE(campaign.id());
    CHECK(campaign.currency() == "USD");  // defaulted where the file leaves it out
    CHECK(campaign.status() == bidder::config::v1::Campaign::ACTIVE);
    CHECK(campaign.max_cpm() > 0);
  }
  CHECK(c.campaigns(4).targeting().audience().all_of(0).segment() == "auto-site-visitor");
  CHECK(c.campaigns(4).targeting().audience().all_of(0).within_days() == 10);
  CHECK(c.campaigns(4).pricing().name() == "rules");
  CHECK(c.campaigns(5).targeting().deal_ids(0) == "demo-deal-1");
  REQUIRE(c.demo_users_size() == 2);
  CHECK(c.demo_users(0).key() == "user:demo-car-buyer");
  CHECK(c.demo_users(0).segments(1).days_ago() == 30);
  REQUIRE(c.exchanges_size() == 2);
  CHECK(c.default_exchange() == "demo-exchange");
  CHECK(c.exchanges(1).count_on() == bidder::config::v1::Budget::BILL);
}

TEST_CASE("defaults are filled in for a minimal config", "[config][unit]") {
  link_builtin_models();
  auto config = parse(config_json({default_campaign("c1")}), "<test>");
  INFO(error_of(config));
  REQUIRE(config);
  const auto& c = **config;
  CHECK(c.seat() == "bidder");
  CHECK(c.default_tmax_ms() == 100);
  CHECK(c.network_allowance_ms() == 15);
  CHECK(c.max_body_bytes() == 262144);
  CHECK(c.notice_base_url() == "http://127.0.0.1:8080");
  CHECK(c.max_user_ids() == 4);
  REQUIRE(c.currency_rates().contains("USD"));
  CHECK(c.currency_rates().at("USD") == 1.0);
  REQUIRE(c.campaigns_size() == 1);
  CHECK(c.campaigns(0).currency() == "USD");
}

TEST_CASE("a config without campaigns parses to an empty campaign set", "[config][unit]") {
  auto config = parse("{\"seat\": \"s\"}", "<test>");
  INFO(error_of(config));
  REQUIRE(config);
  CHECK((*config)->campaigns_size() == 0);
  CHECK((*config)->seat() == "s");
}

TEST_CASE("comments and trailing commas are allowed", "[config][unit]") {
  link_builtin_models();
  std::string json = "// leading comment\n{\n  /* block */ \"seat\": \"s\", // trailing\n" +
                     config_json({default_campaign("c1")}).substr(1);
  json.insert(json.size() - 2, ",");  // [..., ] and }
  auto config = parse(json, "<test>");
  INFO(error_of(config));
  REQUIRE(config);
  CHECK((*config)->seat() == "s");
  CHECK((*config)->campaigns_size() == 1);
}

TEST_CASE("an unknown top-level field is refused and named", "[config][unit]") {
  auto config = parse(config_json({}, "\"seet\": \"typo\""), "cfg.json");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::StartsWith("cfg.json"));
  CHECK_THAT(config.error().message, Catch::Contains("seet"));
}

TEST_CASE("an unknown field inside a campaign names the campaign and the field", "[config][unit]") {
  link_builtin_models();
  SECTION("at the campaign's top level") {
    auto config =
        parse(config_json({default_campaign("ok"), with(default_campaign("x"), "max_cmp", "3")}),
              "<test>");
    REQUIRE_FALSE(config);
    CHECK(config.error().code == errc::invalid_config);
    CHECK_THAT(config.error().message, Catch::Contains("campaign \"x\""));
    CHECK_THAT(config.error().message, Catch::Contains("max_cmp"));
  }
  SECTION("nested in the campaign's targeting") {
    auto config =
        parse(config_json({with(default_campaign("x"), "targeting", "{\"countrys\": [\"USA\"]}")}),
              "<test>");
    REQUIRE_FALSE(config);
    CHECK(config.error().code == errc::invalid_config);
    CHECK_THAT(config.error().message, Catch::Contains("campaign \"x\""));
    CHECK_THAT(config.error().message, Catch::Contains("countrys"));
  }
}

TEST_CASE("a JSON syntax error gives the line and column", "[config][unit]") {
  const std::string json = "{\n  \"seat\": \"a\",\n  oops\n}";
  auto config = parse(json, "cfg.json");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::StartsWith("cfg.json:3:3: JSON syntax error"));

  SECTION("truncated document") {
    auto truncated = parse("{\n\"seat\": \"a\"", "cfg.json");
    REQUIRE_FALSE(truncated);
    CHECK_THAT(truncated.error().message, Catch::StartsWith("cfg.json:2:"));
    CHECK_THAT(truncated.error().message, Catch::Contains("JSON syntax error"));
  }
}

TEST_CASE("a config that is not a JSON object is refused", "[config][unit]") {
  auto config = parse("[1, 2]", "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  auto campaigns = parse("{\"campaigns\": {\"id\": \"x\"}}", "<test>");
  REQUIRE_FALSE(campaigns);
  CHECK_THAT(campaigns.error().message, Catch::Contains("campaigns"));
}

TEST_CASE("a duplicate campaign id is refused", "[config][unit]") {
  link_builtin_models();
  auto config =
      parse(config_json({default_campaign("c1"), default_campaign("c2"), default_campaign("c1")}),
            "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains("campaign \"c1\": id: duplicate"));
}

TEST_CASE("a campaign without id is refused naming its position", "[config][unit]") {
  link_builtin_models();
  auto config = parse(config_json({default_campaign("c1"), with(default_campaign("c2"), "id", "")}),
                      "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains("campaign #1: id: missing"));
}

TEST_CASE("each missing required campaign field is named", "[config][unit]") {
  link_builtin_models();
  const auto [field, expected] = GENERATE(table<std::string, std::string>({
      {"max_cpm", "campaign \"c1\": max_cpm:"},
      {"creatives", "campaign \"c1\": creatives:"},
      {"advertiser_domains", "campaign \"c1\": advertiser_domains:"},
      {"status", "campaign \"c1\": status:"},
      {"pricing", "campaign \"c1\": pricing.name:"},
  }));
  CAPTURE(field);
  auto config = parse(config_json({with(default_campaign("c1"), field, "")}), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("invalid campaign values are named", "[config][unit]") {
  link_builtin_models();
  const auto [field, value, expected] = GENERATE(table<std::string, std::string, std::string>({
      {"max_cpm", "0", "campaign \"c1\": max_cpm:"},
      {"max_cpm", "-2", "campaign \"c1\": max_cpm:"},
      {"status", "\"STATUS_UNSPECIFIED\"", "campaign \"c1\": status:"},
      {"creatives", "[]", "campaign \"c1\": creatives:"},
      {"advertiser_domains", "[]", "campaign \"c1\": advertiser_domains:"},
      {"creatives", R"([{"id": "a", "banner": {"sizes": [{"w": 0, "h": 250}]}, "markup": "m"}])",
       "campaign \"c1\": creatives[0].banner.sizes[0]:"},
      {"creatives",
       R"([{"id": "a", "banner": {"sizes": [{"w": 300, "h": 250}, {"w": 300}]}, "markup": "m"}])",
       "campaign \"c1\": creatives[0].banner.sizes[1]:"},
      {"creatives", R"([{"id": "a", "banner": {"sizes": []}, "markup": "m"}])",
       "campaign \"c1\": creatives[0].banner.sizes:"},
      {"creatives", R"([{"id": "a", "markup": "m"}])", "campaign \"c1\": creatives[0]:"},
      {"creatives", R"([{"id": "a", "native": {}}])", "campaign \"c1\": creatives[0].markup:"},
      {"creatives", R"([{"native": {}, "markup": "m"}])", "campaign \"c1\": creatives[0].id:"},
      {"creatives",
       R"([{"id": "a", "native": {}, "markup": "m"}, {"id": "a", "native": {}, "markup": "m"}])",
       "campaign \"c1\": creatives[1].id: duplicate"},
      {"targeting", R"({"audience": {"none_of": [{"within_days": 3}]}})",
       "campaign \"c1\": targeting.audience.none_of[0].segment: missing"},
      {"attribution", R"({"click_window_seconds": 7776001})",
       "campaign \"c1\": attribution.click_window_seconds: at most"},
      {"attribution", R"({"view_window_seconds": 99999999})",
       "campaign \"c1\": attribution.view_window_seconds: at most"},
      {"end", "\"2020-01-01T00:00:00Z\"", "campaign \"c1\": end:"},
  }));
  CAPTURE(field, value);
  auto campaign = with(default_campaign("c1"), field, value);
  if (field == "end") campaign = with(campaign, "start", "\"2021-01-01T00:00:00Z\"");
  auto config = parse(config_json({campaign}), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("combined audience expressions nest and are checked field by field", "[config][unit]") {
  link_builtin_models();
  SECTION("a two-level expression with recency and third-party names loads") {
    auto config = parse(config_json({with(default_campaign("c1"), "targeting", R"({"audience": {
          "all_of": [{"segment": "car-intender", "within_days": 10},
                     {"expression": {"any_of": [{"segment": "affluent-zip"},
                                                {"segment": "3p:acme:123"}]}}],
          "none_of": [{"expression": {"all_of": [{"segment": "recent-buyer", "within_days": 30},
                                                 {"segment": "ev:converted"}]}}]}})")}),
                        "<test>");
    INFO(error_of(config));
    REQUIRE(config);
    const auto& audience = (*config)->campaigns(0).targeting().audience();
    CHECK(audience.all_of(1).expression().any_of(1).segment() == "3p:acme:123");
  }
  const std::string deep = R"({"expression": {"all_of": [{"expression": {"all_of": [
      {"expression": {"all_of": [{"expression": {"all_of": [{"segment": "x"}]}}]}}]}}]}})";
  std::string many = R"({"audience": {"any_of": [)";
  for (int i = 0; i < 65; ++i)
    many += (i ? "," : "") + std::string(R"({"segment": "s)") + std::to_string(i) + "\"}";
  many += "]}}";
  const auto [audience, expected] = GENERATE_COPY(table<std::string, std::string>({
      {R"({"audience": {"all_of": [{"expression": {}}]}})",
       "<test>: campaign \"c1\": targeting.audience.all_of[0].expression: an empty group matches "
       "no one"},
      {R"({"audience": {"any_of": [{"segment": "a", "expression": {"all_of": [{"segment": "b"}]}}]}})",
       "<test>: campaign \"c1\": targeting.audience.any_of[0]: give either segment or expression, "
       "not both"},
      {R"({"audience": {"none_of": [{"within_days": 3, "expression": {"all_of": [{"segment": "b"}]}}]}})",
       "<test>: campaign \"c1\": targeting.audience.none_of[0].within_days: applies to a segment"},
      {R"({"audience": {"all_of": [{"expression": {"any_of": [{"segment": "ok"}, {"segment": "no way"}]}}]}})",
       "<test>: campaign \"c1\": targeting.audience.all_of[0].expression.any_of[1].segment: \"no "
       "way\" is not a segment name"},
      {R"({"audience": {"all_of": [{"expression": {"any_of": [{}]}}]}})",
       "<test>: campaign \"c1\": targeting.audience.all_of[0].expression.any_of[0].segment: "
       "missing"},
      {R"({"audience": {"all_of": [{"segment": "a", "within_days": 40000}]}})",
       "<test>: campaign \"c1\": targeting.audience.all_of[0].within_days: at most 36500"},
      {R"({"audience": {"all_of": [)" + deep + "]}}",
       "<test>: campaign \"c1\": targeting.audience.all_of[0].expression.all_of[0].expression."
       "all_of[0].expression.all_of[0].expression: nested deeper than 4 levels"},
      {many, "<test>: campaign \"c1\": targeting.audience: 65 conditions; at most 64"},
      {R"({"audience": {"all_of": [{"expression": {"any_off": []}}]}})",
       "<test>: campaign \"c1\": "},
  }));
  CAPTURE(audience);
  auto config = parse(config_json({with(default_campaign("c1"), "targeting", audience)}), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::StartsWith(expected));
  if (audience.find("any_off") != std::string::npos) {
    CHECK_THAT(config.error().message, Catch::Contains("any_off"));
  }
}

TEST_CASE("a campaign currency without a rate is refused", "[config][unit]") {
  link_builtin_models();
  auto config = parse(config_json({with(default_campaign("c1"), "currency", "\"EUR\"")}), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains("campaign \"c1\": currency"));
  CHECK_THAT(config.error().message, Catch::Contains("EUR"));

  SECTION("with the rate it is accepted") {
    auto ok = parse(config_json({with(default_campaign("c1"), "currency", "\"EUR\"")},
                                "\"currency_rates\": {\"EUR\": 0.9}"),
                    "<test>");
    INFO(error_of(ok));
    REQUIRE(ok);
    CHECK((*ok)->campaigns(0).currency() == "EUR");
    CHECK((*ok)->currency_rates().at("EUR") == Approx(0.9));
  }
}

TEST_CASE("invalid server settings are refused naming the setting", "[config][unit]") {
  const auto [top_level, expected] = GENERATE(table<std::string, std::string>({
      {"\"currency_rates\": {\"EURO\": 1.1}", "currency_rates.EURO"},
      {"\"currency_rates\": {\"EUR\": 0}", "currency_rates.EUR"},
      {"\"currency_rates\": {\"EUR\": -1}", "currency_rates.EUR"},
      {"\"default_tmax_ms\": 20000", "default_tmax_ms"},
      {"\"default_tmax_ms\": 50, \"network_allowance_ms\": 50", "network_allowance_ms"},
      {"\"max_user_ids\": 17", "max_user_ids"},
      {"\"notice_base_url\": \"bid.example\"", "notice_base_url: needs an absolute"},
      {"\"notice_base_url\": \"https://\"", "notice_base_url: needs an absolute"},
      {"\"notice_base_url\": \"https:///path\"", "notice_base_url: needs an absolute"},
      {"\"notice_base_url\": \"https://bid.example/a\\\"b\"", "character \"\"\""},
      {"\"notice_base_url\": \"https://bid.example/a b\"", "character \" \""},
      {"\"notice_base_url\": \"https://bid.example/\u00e9\"", "notice_base_url: character"},
      {"\"notice_base_url\": \"https://bid.example/?a=1\"", "no query or fragment"},
      {"\"demo_users\": [{\"key\": \"user:a\"}, {\"segments\": []}]", "demo_users[1].key"},
  }));
  CAPTURE(top_level);
  auto config = parse(config_json({}, top_level), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("conversion pixels are checked: id, advertiser, max_value", "[config][unit]") {
  link_builtin_models();
  const auto [pixel, expected] = GENERATE(table<std::string, std::string>({
      {R"({"id": "short", "advertiser": "a.com"})", "conversion_pixels[0].id: 16 to 128"},
      {R"({"id": "has spaces in it 0123", "advertiser": "a.com"})", "conversion_pixels[0].id"},
      {R"({"id": "px-0123456789abcdef", "advertiser": "b.com"})",
       "conversion_pixels[0].advertiser"},
      {R"({"id": "px-0123456789abcdef", "advertiser": "a.com", "max_value": -1})",
       "conversion_pixels[0].max_value"},
      {R"({"id": "px-0123456789abcdef", "advertiser": "a.com"},
          {"id": "px-0123456789abcdef", "advertiser": "a.com"})",
       "conversion_pixels[1].id: duplicate"},
  }));
  CAPTURE(pixel);
  auto campaign = with(default_campaign("c1"), "advertiser_domains", R"(["A.com"])");
  auto config = parse(config_json({campaign}, "\"conversion_pixels\": [" + pixel + "]"), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));

  SECTION("a good pixel is accepted, its advertiser matched without case") {
    auto ok = parse(config_json({campaign}, R"("conversion_pixels": [{"id": "px-0123456789abcdef",
                                               "advertiser": "a.COM", "max_value": 50}])"),
                    "<test>");
    INFO(error_of(ok));
    CHECK(ok);
  }
}

TEST_CASE("experiments are checked: ids, campaigns, arms and shares", "[config][unit]") {
  link_builtin_models();
  const auto [experiment, expected] = GENERATE(table<std::string, std::string>({
      {R"({"id": "", "campaigns": ["c1"], "arms": []})", "experiments[0].id"},
      {R"({"id": "x", "campaigns": [], "arms": []})", "experiments[0].campaigns: at least one"},
      {R"({"id": "x", "campaigns": ["nope"], "arms": []})", "\"nope\" is not a configured"},
      {R"({"id": "x", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0.5}]})",
       "experiments[0].arms: from 2 to 8"},
      {R"({"id": "x", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0.6}, {"id": "b", "share": 0.1}]})",
       "experiments[0].arms[0].share"},
      {R"({"id": "x", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0.5}, {"id": "a", "share": 0.1}]})",
       "experiments[0].arms[1].id: duplicate"},
      {R"({"id": "x", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0}, {"id": "b", "share": 0.1}]})",
       "experiments[0].arms[0].share"},
      {R"({"id": "x", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0.1, "holdout": true,
           "pricing": {"name": "fixed"}}, {"id": "b", "share": 0.1}]})",
       "experiments[0].arms[0].pricing: a holdout arm never bids"},
      {R"({"id": "x", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0.1}, {"id": "b", "share": 0.1}]},
          {"id": "y", "campaigns": ["c1"], "arms": [{"id": "a", "share": 0.1}, {"id": "b", "share": 0.1}]})",
       "experiments[1].campaigns: \"c1\" is already in an experiment"},
  }));
  CAPTURE(experiment);
  auto config = parse(
      config_json({default_campaign("c1")}, "\"experiments\": [" + experiment + "]"), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("load_file of a missing path is an io_error naming the path", "[config][unit]") {
  temp_dir dir;
  const std::string path = (dir.path / "does-not-exist.json").string();
  auto config = bidder::config::load_file(path);
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::io_error);
  CHECK_THAT(config.error().message, Catch::Contains(path));
}

TEST_CASE("load_file reads a file and names it in errors", "[config][unit]") {
  link_builtin_models();
  temp_dir dir;
  const std::string good = (dir.path / "good.json").string();
  const std::string bad = (dir.path / "bad.json").string();
  std::ofstream(good) << config_json({default_campaign("c1")}, "\"seat\": \"from-file\"");
  std::ofstream(bad) << "{\n  \"seat\": 12\n  \"x\": 1\n}";

  auto loaded = bidder::config::load_file(good);
  INFO(error_of(loaded));
  REQUIRE(loaded);
  CHECK((*loaded)->seat() == "from-file");
  CHECK((*loaded)->campaigns(0).id() == "c1");

  auto failed = bidder::config::load_file(bad);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == errc::invalid_config);
  CHECK_THAT(failed.error().message, Catch::StartsWith(bad + ":3:"));
}

TEST_CASE("exchanges: a default one when none is listed, count_on WIN by default",
          "[config][unit][exchange]") {
  auto plain = parse(config_json({default_campaign("c1")}), "<test>");
  INFO(error_of(plain));
  REQUIRE(plain);
  REQUIRE((*plain)->exchanges_size() == 1);
  CHECK((*plain)->exchanges(0).id() == "default");
  CHECK((*plain)->exchanges(0).count_on() == bidder::config::v1::Budget::WIN);
  CHECK((*plain)->default_exchange() == "default");

  auto listed = parse(config_json({default_campaign("c1")},
                                  R"("exchanges": [{"id": "ox", "name": "OpenX"},
                                                   {"id": "gam", "count_on": "BILL"}],
                                     "default_exchange": "gam")"),
                      "<test>");
  INFO(error_of(listed));
  REQUIRE(listed);
  CHECK((*listed)->exchanges(0).count_on() == bidder::config::v1::Budget::WIN);
  CHECK((*listed)->exchanges(1).count_on() == bidder::config::v1::Budget::BILL);
  CHECK((*listed)->default_exchange() == "gam");
}

TEST_CASE("unknown or bad exchange and notice key names are refused naming the field",
          "[config][unit][exchange]") {
  const std::string two = R"("exchanges": [{"id": "ox"}, {"id": "gam"}], )";
  const auto [top_level, campaign_extra, expected] =
      GENERATE_REF(table<std::string, std::string, std::string>({
          {two + R"("default_exchange": "adx")", "",
           R"(default_exchange: unknown exchange "adx"; known: gam, ox)"},
          {R"("default_exchange": "adx")", "", R"(default_exchange: unknown exchange "adx")"},
          {R"("exchanges": [{"id": "ox"}, {"id": "ox"}])", "", R"(exchanges[1].id: duplicate)"},
          {R"("exchanges": [{"id": "o x"}])", "", "exchanges[0].id: use 1 to 32"},
          {R"("exchanges": [{"name": "no id"}])", "", "exchanges[0].id: use 1 to 32"},
          {two.substr(0, two.size() - 2), R"({"exchanges": ["ox", "adx"]})",
           R"(campaign "c1": targeting.exchanges[1]: unknown exchange "adx"; known: gam, ox)"},
          {R"("notice_keys": [{"id": "k1", "file": "/k1"}], "notice_signing_key": "k2")", "",
           R"(notice_signing_key: unknown key "k2"; known: k1)"},
          {R"("notice_signing_key": "k2")", "", "notice_signing_key: names a key of notice_keys"},
          {R"("notice_keys": [{"id": "k1", "file": "/k1"}, {"id": "k1", "file": "/k2"}])", "",
           "notice_keys[1].id: duplicate"},
          {R"("notice_keys": [{"id": "k1"}])", "", "notice_keys[0].file: missing"},
          {R"("notice_keys": [{"id": "k/1", "file": "/k"}])", "", "notice_keys[0].id: use 1 to 32"},
          {R"("notice_key_file": "/k", "notice_keys": [{"id": "k1", "file": "/k1"}])", "",
           "notice_key_file: give either notice_key_file or notice_keys"},
      }));
  CAPTURE(top_level, campaign_extra);
  auto campaign = default_campaign("c1");
  if (!campaign_extra.empty()) campaign = with(campaign, "targeting", campaign_extra);
  auto config = parse(config_json({campaign}, top_level), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("an exchange's bid shading: defaults filled in, bad values refused naming the field",
          "[config][unit][exchange][shading]") {
  {
    auto config = parse(config_json({default_campaign("c1")},
                                    R"("exchanges": [{"id": "fp", "shading": {"mode": "LEARNED"}},
                                                     {"id": "sp"}])"),
                        "<test>");
    REQUIRE(config);
    const auto& s = (*config)->exchanges(0).shading();
    CHECK(s.mode() == bidder::config::v1::Shading::LEARNED);
    CHECK(s.min_factor() == 0.3);
    CHECK(s.exploration_share() == 0.05);
    CHECK(s.min_observations() == 200);
    CHECK(s.half_life_seconds() == 3600);
    CHECK(s.surplus_tolerance() == 0.1);
    CHECK((*config)->exchanges(1).shading().mode() == bidder::config::v1::Shading::OFF);
  }
  const auto [shading, expected] = GENERATE_REF(table<std::string, std::string>({
      {R"({"min_factor": 0.01})", "exchanges[0].shading.min_factor: must be in [0.05, 1]"},
      {R"({"min_factor": 1.5})", "exchanges[0].shading.min_factor"},
      {R"({"exploration_share": 0.9})", "exchanges[0].shading.exploration_share: must be in"},
      {R"({"exploration_share": -0.1})", "exchanges[0].shading.exploration_share"},
      {R"({"min_observations": 2000000})", "exchanges[0].shading.min_observations"},
      {R"({"half_life_seconds": 10})", "exchanges[0].shading.half_life_seconds"},
      {R"({"surplus_tolerance": 0.6})", "exchanges[0].shading.surplus_tolerance: must be in"},
      {R"({"surplus_tolerance": -0.01})", "exchanges[0].shading.surplus_tolerance"},
      {R"({"mode": "SOMETIMES"})", "SOMETIMES"},
      {R"({"modes": "LEARNED"})", "modes"},
  }));
  CAPTURE(shading);
  auto config = parse(config_json({default_campaign("c1")},
                                  R"("exchanges": [{"id": "fp", "shading": )" + shading + "}]"),
                      "<test>");
  REQUIRE_FALSE(config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("more exchanges than a campaign's exchange mask holds are refused",
          "[config][unit][exchange]") {
  std::string list;
  for (int i = 0; i <= bidder::config::max_exchanges; ++i) {
    list += std::string(i ? ", " : "") + R"({"id": "x)" + std::to_string(i) + R"("})";
  }
  auto config =
      parse(config_json({default_campaign("c1")}, R"("exchanges": [)" + list + "]"), "<test>");
  REQUIRE_FALSE(config);
  CHECK_THAT(config.error().message, Catch::Contains("exchanges: at most 64"));
}

TEST_CASE("bad data providers are refused naming the field", "[config][unit]") {
  const auto [top_level, expected] = GENERATE(table<std::string, std::string>({
      {R"("data_providers": [{"id": "a b", "segtax": [4]}])", "data_providers[0].id: use 1 to 32"},
      {R"("data_providers": [{"segtax": [4]}])", "data_providers[0].id: use 1 to 32"},
      {R"("data_providers": [{"id": "a", "segtax": [4]}, {"id": "a", "data_ids": ["1"]}])",
       R"(data_providers[1].id: duplicate "a")"},
      {R"("data_providers": [{"id": "a"}])",
       "data_providers[0]: give data_ids, data_names or segtax"},
      {R"("data_providers": [{"id": "a", "data_ids": [""]}])",
       "data_providers[0].data_ids[0]: 1 to 128 characters"},
      {R"("data_providers": [{"id": "a", "data_names": ["x", ""]}])",
       "data_providers[0].data_names[1]: 1 to 128 characters"},
      {R"("data_providers": [{"id": "a", "segtax": [0]}])",
       "data_providers[0].segtax[0]: a taxonomy id is >= 1"},
      {R"("data_providers": [{"id": "a", "segtax": [4], "origin": "PAGE"}])", "origin"},
      {R"("data_providers": [{"id": "a", "segtax": [4], "colour": 1}])", "colour"},
  }));
  CAPTURE(top_level);
  auto config = parse(config_json({default_campaign("c1")}, top_level), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
}

TEST_CASE("a data provider with its defaults parses", "[config][unit]") {
  auto config = parse(config_json({default_campaign("c1")},
                                  R"("data_providers": [{"id": "acme", "data_names": ["acme.com"]},
                                        {"id": "iab", "segtax": [4, 6], "origin": "CONTENT"}])"),
                      "<test>");
  INFO(error_of(config));
  REQUIRE(config);
  CHECK((*config)->data_providers(0).origin() ==
        bidder::config::v1::DataProvider::USER_AND_CONTENT);
  CHECK((*config)->data_providers(1).origin() == bidder::config::v1::DataProvider::CONTENT);
}

TEST_CASE("audience events are checked: sources, pixels and every rule, naming the field",
          "[config][unit]") {
  link_builtin_models();
  const std::string sources = R"("sources": [{"id": "auto"}])";
  const std::string rule_head = R"({"id": "r1", "segment": "seg")";
  const auto [events, expected] = GENERATE_REF(table<std::string, std::string>({
      {R"("sources": [{"id": "a b"}])", "audience_events.sources[0].id"},
      {R"("sources": [{"id": "a"}, {"id": "a"}])", "audience_events.sources[1].id: duplicate"},
      {R"("sources": [{"id": "a"}], "pixels": [{"id": "short", "source": "a"}])",
       "audience_events.pixels[0].id: 16 to 128"},
      {R"("sources": [{"id": "a"}], "pixels": [{"id": "px-0123456789abcdef", "source": "b"}])",
       "audience_events.pixels[0].source: not one of audience_events.sources"},
      {R"("sources": [{"id": "a"}], "pixels": [{"id": "px-0123456789abcdef", "source": "a",
          "actions": ["page view"]}])",
       "audience_events.pixels[0].actions[0]"},
      {sources + R"(, "rules": [{"id": "r1", "segment": "seg"}])",
       "audience_events.rules[0]: matches every event"},
      {sources + R"(, "rules": [{"id": "r1", "actions": ["x"]}])",
       "audience_events.rules[0].segment: missing"},
      {sources + R"(, "rules": [{"id": "r1", "segment": "bad name", "actions": ["x"]}])",
       "audience_events.rules[0].segment: use 1 to 128"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "actions": ["x"]}, )" + rule_head +
           R"(, "actions": ["y"]}])",
       "audience_events.rules[1].id: duplicate"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "sources": ["nope"]}])",
       "audience_events.rules[0].sources[0]: not one of audience_events.sources"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "url_prefixes": ["example-auto.com"]}])",
       "audience_events.rules[0].url_prefixes[0]: include a path"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "url_prefixes": ["https://a b/x"]}])",
       "audience_events.rules[0].url_prefixes[0]: a space"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "hosts": ["https://a.com/"]}])",
       "audience_events.rules[0].hosts[0]: a host name"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "actions": ["x"], "ttl_days": 4000}])",
       "audience_events.rules[0].ttl_days: at most 3650"},
      {sources + R"(, "rules": [)" + rule_head + R"(, "action": ["x"]}])", "action"},
      {sources + R"(, "post_durability": 7)",
       "audience_events.post_durability: SYNC_EACH_POST (the default) or SYNC_EVERY_SECOND"},
      {sources + R"(, "post_durability": "SOMETIMES")", "post_durability"},
      {sources + R"(, "post_durability": "sync_every_second")", "post_durability"},
  }));
  CAPTURE(events);
  auto config = parse(
      config_json({default_campaign("c1")}, "\"audience_events\": {" + events + "}"), "<test>");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == errc::invalid_config);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
  CHECK_THAT(config.error().message, Catch::StartsWith("<test>: "));

  SECTION("a good set is accepted") {
    auto ok = parse(config_json({default_campaign("c1")}, R"("audience_events": {
        "sources": [{"id": "auto", "max_per_second": 2000}],
        "pixels": [{"id": "px-0123456789abcdef", "source": "auto", "actions": ["page_view"]}],
        "rules": [{"id": "v", "segment": "auto-site-visitor",
                   "url_prefixes": ["https://Example-Auto.com/models/"]},
                  {"id": "b", "segment": "recent-buyer", "ttl_days": 30, "actions": ["purchase"],
                   "sources": ["auto"], "hosts": ["example-auto.com"]}]})"),
                    "<test>");
    INFO(error_of(ok));
    REQUIRE(ok);
    // Acknowledged posts are synced unless the config says otherwise.
    CHECK((*ok)->audience_events().post_durability() ==
          bidder::config::v1::AudienceEvents::SYNC_EACH_POST);
  }
  SECTION("both post durabilities are accepted by name") {
    for (const auto& [name, mode] :
         {std::pair{"SYNC_EACH_POST", bidder::config::v1::AudienceEvents::SYNC_EACH_POST},
          std::pair{"SYNC_EVERY_SECOND", bidder::config::v1::AudienceEvents::SYNC_EVERY_SECOND}}) {
      auto ok = parse(
          config_json({default_campaign("c1")}, "\"audience_events\": {" + sources +
                                                    ", \"post_durability\": \"" + name + "\"}"),
          "<test>");
      INFO(error_of(ok));
      REQUIRE(ok);
      CHECK((*ok)->audience_events().post_durability() == mode);
    }
  }
}
