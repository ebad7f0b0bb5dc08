// bidsim's experiments and held-out days: a scenario's experiments (bench/sim/market.hpp) read,
// refused with their path, written into a bidder config the bidder's own loader accepts; the
// start day (days N.. of the same market); and the bidder's report per arm read back after a
// run against the real service on loopback port 0.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "bench/sim/bidder_report.hpp"
#include "bench/sim/bidders.hpp"
#include "bench/sim/bidsim.hpp"
#include "bench/sim/scenario_files.hpp"
#include "bench/sim/scenario_json.hpp"
#include "bench/sim/simulator.hpp"
#include "bidder/app/service.hpp"
#include "bidder/config/loader.hpp"
#include "tests/bench/json_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using namespace bidder::sim;
using bidder::bench::test::read_json;
using bidder::test::temp_dir;

namespace {

std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(BIDDER_SOURCE_DIR) + "/" + relative);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

scenario with_experiment() {
  scenario s = default_scenario();
  s.experiments.push_back(
      {.id = "price-test",
       .campaigns = {"auto-intenders", "run-of-network"},
       .arms = {{.id = "control", .share = 0.3},
                {.id = "cheap",
                 .share = 0.3,
                 .pricing_json = R"({"name":"fixed","config":{"@type":)"
                                 R"("type.googleapis.com/bidder.models.fixed.v1.FixedConfig",)"
                                 R"("cpm":1.0}})"},
                {.id = "holdout", .share = 0.1, .holdout = true}}});
  return s;
}

}  // namespace

TEST_CASE("a scenario's experiments read back and go into a config the bidder loads",
          "[sim][unit]") {
  const scenario s = with_experiment();
  REQUIRE_FALSE(validate(s).has_value());
  std::string error;
  const auto back = scenario_from_json(scenario_to_json(s), error);
  INFO(error);
  REQUIRE(back);
  CHECK(scenario_to_json(*back) == scenario_to_json(s));
  REQUIRE(back->experiments.size() == 1);
  CHECK(back->experiments[0].arms[2].holdout);
  CHECK(back->experiments[0].arms[0].pricing_json.empty());

  const auto config = bidder::config::parse(config_json(s, "http://127.0.0.1:1"), "<bidsim>");
  INFO((config ? std::string() : config.error().message));
  REQUIRE(config);
  REQUIRE((*config)->experiments_size() == 1);
  const auto& x = (*config)->experiments(0);
  CHECK(x.id() == "price-test");
  CHECK(x.campaigns_size() == 2);
  REQUIRE(x.arms_size() == 3);
  CHECK(x.arms(1).pricing().name() == "fixed");
  CHECK_FALSE(x.arms(0).has_pricing());
  CHECK(x.arms(2).holdout());
  CHECK(x.arms(0).share() == 0.3);

  SECTION("without experiments the config has none") {
    CHECK(config_json(default_scenario(), "http://127.0.0.1:1").find("experiments") ==
          std::string::npos);
  }
  SECTION("the checked-in experiment scenarios load, over the default market") {
    for (const char* file :
         {"bench/sim/scenarios/aa-experiment.json", "bench/sim/scenarios/ab-experiment.json"}) {
      INFO(file);
      const auto loaded = scenario_from_json(source_file(file), error);
      INFO(error);
      REQUIRE(loaded);
      CHECK(loaded->experiments.size() == 1);
      CHECK(loaded->campaigns.size() == default_scenario().campaigns.size());
      CHECK(bidder::config::parse(config_json(*loaded, "http://127.0.0.1:1"), file));
    }
  }
}

TEST_CASE("bad experiments and start days are refused with the field named", "[sim][unit]") {
  const std::string two_arms = R"("arms": [{"id": "a", "share": 0.5}, {"id": "b", "share": 0.5}])";
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"({"experiments": {}})", "experiments: must be an array"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"], "arms": [], "seed": 1}]})",
       "experiments[0].seed: unknown field"},
      {R"({"experiments": [{"id": "x", "campaigns": ["nope"], )" + two_arms + "}]}",
       "experiments[0].campaigns[0]: \"nope\" is not a campaign"},
      {R"({"experiments": [{"id": "x", "campaigns": [], )" + two_arms + "}]}",
       "experiments[0].campaigns: at least one"},
      {R"({"experiments": [{"id": "bad id", "campaigns": ["run-of-network"], )" + two_arms + "}]}",
       "experiments[0].id"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"],
                            "arms": [{"id": "a", "share": 1}]}]})",
       "experiments[0].arms: 2 to 8"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"],
                            "arms": [{"id": "a", "share": 0.6}, {"id": "b", "share": 0.4}]}]})",
       "experiments[0].arms[0].share"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"],
                            "arms": [{"id": "a", "share": 0.5}, {"id": "a", "share": 0.5}]}]})",
       "experiments[0].arms[1].id: \"a\" twice"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"],
                            "arms": [{"id": "a", "share": 0.5, "weight": 2},
                                     {"id": "b", "share": 0.5}]}]})",
       "experiments[0].arms[0].weight: unknown field"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"],
                            "arms": [{"id": "a", "share": 0.5, "pricing": "fixed"},
                                     {"id": "b", "share": 0.5}]}]})",
       "experiments[0].arms[0].pricing: must be an object"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"],
                            "arms": [{"id": "a", "share": 0.5, "holdout": true, "pricing": {}},
                                     {"id": "b", "share": 0.5}]}]})",
       "experiments[0].arms[0].pricing: a holdout"},
      {R"({"experiments": [{"id": "x", "campaigns": ["run-of-network"], )" + two_arms +
           R"(}, {"id": "y", "campaigns": ["run-of-network"], )" + two_arms + "}]}",
       "experiments[1].campaigns[0]: \"run-of-network\" is in another experiment"},
      {R"({"start_day": -1})", "start_day: must be an integer"},
      {R"({"start_day": 3649, "days": 7})", "start_day + days"}};
  for (const auto& [text, expected] : cases) {
    INFO(text);
    std::string error;
    CHECK_FALSE(scenario_from_json(text, error));
    INFO(error);
    CHECK(error.find(expected) != std::string::npos);
  }
}

TEST_CASE("a run from a start day meets the market of those days", "[sim][unit]") {
  scenario s = default_scenario();
  s.seed = 11;
  s.users = 3000;
  s.days = 5;
  s.requests_per_day = 3000;
  const population users = make_population(s);
  scenario held_out = s;
  held_out.start_day = 3;
  held_out.days = 2;
  for (const bool oracle : {true, false}) {
    INFO((oracle ? "oracle" : "fixed"));
    auto make = [&](const scenario& sc) -> std::unique_ptr<sim_bidder> {
      if (oracle) return std::make_unique<oracle_bidder>(sc, users);
      return std::make_unique<fixed_bidder>(sc, users, 1.5);
    };
    const run_result all = simulate(s, users, *make(s), {});
    const run_result late = simulate(held_out, users, *make(held_out), {});
    REQUIRE(late.days.size() == 2);
    CHECK(late.requests == 6000);
    // Day 4 is the same in both: its conversions come from clicks of days 3 and 4.
    CHECK(late.days[1] == all.days[4]);
    CHECK(late.by_campaign[1] == all.by_campaign[4]);
    // Day 3 is the same but for the conversions of day 2's clicks, which the late run lacks.
    tally day3 = all.days[3], late3 = late.days[0];
    CHECK(late3.conversions <= day3.conversions);
    day3.conversions = late3.conversions = 0;
    day3.value = late3.value = 0;
    CHECK(late3 == day3);
    CHECK(late.days[0].wins > 0);
    // And the same held-out run twice is the same.
    CHECK(late.same_outcome(simulate(held_out, users, *make(held_out), {})));
  }

  SECTION("--start-day on the command line labels the days") {
    temp_dir dir;
    std::ostringstream out, err;
    const int rc =
        run_bidsim({"--seed", "11", "--users", "3000", "--days", "2", "--requests-per-day", "3000",
                    "--start-day", "3", "--bidders", "fixed", "--json",
                    (dir.path / "r.json").string(), "--html", (dir.path / "r.html").string()},
                   out, err);
    INFO(err.str());
    REQUIRE(rc == 0);
    CHECK(out.str().find("day 4") != std::string::npos);
    const json::value doc = read_json(dir.path / "r.json");
    CHECK(doc.at("scenario").at("start_day").to_number<int>() == 3);
    CHECK(doc.at("runs").at(0).at("days").at(0).at("day").to_number<int>() == 3);
    std::ifstream html_file(dir.path / "r.html");
    std::stringstream html;
    html << html_file.rdbuf();
    CHECK(html.str().find("2 simulated days from day 3") != std::string::npos);
    CHECK(html.str().find("\">4</text>") != std::string::npos);  // the charts' day axis
    std::ostringstream bad_out, bad_err;
    CHECK(run_bidsim({"--start-day", "x"}, bad_out, bad_err) == 2);
  }
}

TEST_CASE("bidsim reads the bidder's own report per experiment arm after its run",
          "[sim][integration]") {
  temp_dir dir;
  scenario s = default_scenario();
  s.experiments.push_back(
      {.id = "aa",
       .campaigns = {"auto-intenders", "luxury-upgrade", "affluent-reach", "run-of-network"},
       .arms = {{.id = "a", .share = 0.5}, {.id = "b", .share = 0.5}}});
  const std::string scenario_path = (dir.path / "scenario.json").string();
  std::string error;
  REQUIRE(write_text_file(scenario_path, scenario_to_json(s), error));
  const std::string config = (dir.path / "config.json").string();
  const std::vector<std::string> market{"--scenario", scenario_path, "--seed",
                                        "6",          "--users",     "2000"};
  auto run = [](const std::vector<std::string>& args, std::string& out) {
    std::ostringstream o, e;
    const int rc = run_bidsim(args, o, e);
    out = o.str() + e.str();
    return rc;
  };
  std::string out;
  std::vector<std::string> setup = market;
  setup.insert(setup.end(), {"--write-config", config});
  REQUIRE(run(setup, out) == 0);

  std::ostringstream log;
  bidder::app::serve_options options;
  options.config_path = config;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = (dir.path / "data").string();
  options.threads = 1;
  options.shed_queued = std::chrono::microseconds(0);
  options.shed_busy_share = 0;
  auto svc = bidder::app::service::start(options, log);
  INFO(log.str());
  REQUIRE(svc);
  const std::string bid = "http://127.0.0.1:" + std::to_string((*svc)->bid_port()) + "/bid";
  const std::string admin = "http://127.0.0.1:" + std::to_string((*svc)->admin_port());
  std::vector<std::string> push = market;
  push.insert(push.end(), {"--push-audiences", "--admin", admin});
  REQUIRE(run(push, out) == 0);

  std::vector<std::string> sim = market;
  sim.insert(sim.end(), {"--days", "2", "--requests-per-day", "2000", "--target", bid, "--admin",
                         admin, "--bidders", "bidder", "--json", (dir.path / "r.json").string()});
  REQUIRE(run(sim, out) == 0);
  INFO(out);
  CHECK(out.find("the bidder's own report per experiment arm") != std::string::npos);
  CHECK(out.find("aa/a") != std::string::npos);
  CHECK(out.find("note:") == std::string::npos);  // the report caught up with the run

  const json::value doc = read_json(dir.path / "r.json");
  const json::object& run_json = doc.at("runs").at(0).as_object();
  const auto wins = run_json.at("total").at("wins").to_number<std::uint64_t>();
  const auto accepted = run_json.at("live").at("conversions_accepted").to_number<std::uint64_t>();
  REQUIRE(doc.as_object().contains("bidder_report_by_arm"));
  const json::value& report = doc.at("bidder_report_by_arm");
  std::uint64_t arm_wins = 0, arm_conversions = 0;
  std::vector<std::string> arms;
  for (const json::value& row : report.at("days").as_array()) {
    const auto row_wins = row.at("wins").to_number<std::uint64_t>();
    const auto row_conversions = row.at("conversions").to_number<std::uint64_t>();
    if (row.at("arm").as_string().empty()) {
      // Loss notices carry no user hash, so no arm: the row of no arm holds only them.
      CHECK(row_wins == 0);
      CHECK(row_conversions == 0);
      continue;
    }
    arms.emplace_back(row.at("arm").as_string());
    arm_wins += row_wins;
    arm_conversions += row_conversions;
    CHECK(row.at("roas_ci95").is_array());
  }
  for (const json::value& row : report.at("unattributed").as_array()) {
    arm_conversions += row.at("conversions").to_number<std::uint64_t>();
  }
  // The arms take every user (0.5 + 0.5): every win and conversion is in one arm's row.
  CHECK(arms == std::vector<std::string>{"aa/a", "aa/b"});
  CHECK(arm_wins == wins);
  CHECK(arm_conversions == accepted);
  REQUIRE(report.at("arm_differences").as_array().size() == 1);
  const json::value& difference = report.at("arm_differences").at(0);
  CHECK(difference.at("arm_a").as_string() == "aa/a");
  CHECK(difference.at("differ").is_bool());
  (*svc)->stop(std::chrono::seconds(1));
}
