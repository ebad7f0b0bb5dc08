// The scenario as JSON (bench/sim/scenario_json): round trips, the checked-in default, and
// refusals that name the field.
#include "bench/sim/scenario_json.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "bench/sim/scenario_files.hpp"

using namespace bidder::sim;

TEST_CASE("a scenario written as JSON reads back the same", "[sim][unit]") {
  scenario s = default_scenario();
  s.seed = 42;
  s.exchanges[1].competitor_sigma = 0.9;
  s.campaigns[2].conversion.affluent_zip = 1.25;
  std::string error;
  const auto back = scenario_from_json(scenario_to_json(s), error);
  REQUIRE(back);
  CHECK(error.empty());
  CHECK(scenario_to_json(*back) == scenario_to_json(s));
  CHECK(config_json(*back, "http://127.0.0.1:1") == config_json(s, "http://127.0.0.1:1"));
  CHECK(back->seed == 42);
  CHECK(back->exchanges[1].competitor_sigma == 0.9);
}

TEST_CASE("bench/sim/default-scenario.json is the built-in default", "[sim][unit]") {
  std::ifstream in(std::string(BIDDER_SOURCE_DIR) + "/bench/sim/default-scenario.json");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  const auto s = scenario_from_json(text.str(), error);
  INFO(error);
  REQUIRE(s);
  CHECK(scenario_to_json(*s) == scenario_to_json(default_scenario()));
}

TEST_CASE("a bad scenario file is refused with the field named", "[sim][unit]") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[]", "must be an object"},
      {"{", "not JSON"},
      {R"({"seeds": 1})", "seeds: unknown field"},
      {R"({"users": -3})", "users: must be an integer"},
      {R"({"days": 0})", "days: must be > 0"},
      {R"({"exchanges": [{"id": "x", "auction": "dutch"}]})", "exchanges[0].auction"},
      {R"({"exchanges": [{"id": "x", "count_on": "VIEW"}]})", "exchanges[0].count_on"},
      {R"({"exchanges": [{"id": "x", "shading": "ON"}]})", "exchanges[0].shading"},
      {R"({"sites": [{"traffic_share": 1}]})", "sites[0].domain: required"},
      {R"({"campaigns": [{"id": "c", "advertiser_domain": "a.example", "pricing": {},
                          "audience": [{"segment": "golfers"}]}]})",
       "campaigns[0].audience[0].segment"},
      {R"({"campaigns": [{"id": "c", "advertiser_domain": "a.example"}]})",
       "campaigns[0].pricing: required"},
      {R"({"campaigns": [{"id": "c", "advertiser_domain": "a.example", "pricing": {},
                          "click": {"bias": 1}}]})",
       "campaigns[0].click.bias: unknown field"},
      {R"({"latent_sigma": "high"})", "latent_sigma: must be a number"}};
  for (const auto& [text, expected] : cases) {
    INFO(text);
    std::string error;
    CHECK_FALSE(scenario_from_json(text, error));
    CHECK(error.find(expected) != std::string::npos);
  }
}

TEST_CASE("an exchange's shading mode goes into the bidder's config", "[sim][unit][shading]") {
  scenario s = default_scenario();
  CHECK(config_json(s, "http://127.0.0.1:1").find("shading") == std::string::npos);
  s.exchanges[0].shading = "LEARNED";
  std::string error;
  const auto back = scenario_from_json(scenario_to_json(s), error);
  REQUIRE(back);
  CHECK(back->exchanges[0].shading == "LEARNED");
  CHECK(back->exchanges[1].shading == "OFF");
  const std::string config = config_json(s, "http://127.0.0.1:1");
  CHECK(config.find(R"("id": "fp-exchange")") != std::string::npos);
  CHECK(config.find(R"("shading": {"mode": "LEARNED"})") != std::string::npos);
}
