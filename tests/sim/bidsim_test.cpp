// bidsim end to end: the scenario's config served by the real bidder (bidder::app::service, as
// `bidder serve` runs it) on loopback port 0, the audiences pushed through its admin API, and a
// small simulation whose bids, notices and clicks the bidder must accept; and the command line.
#include "bench/sim/bidsim.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <sstream>

#include "bench/sim/http_client.hpp"
#include "bidder/app/service.hpp"
#include "tests/bench/json_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::bench::test::read_json;
using bidder::test::temp_dir;

namespace {

int run(const std::vector<std::string>& args, std::string* out = nullptr,
        std::string* err = nullptr) {
  std::ostringstream o, e;
  const int rc = bidder::sim::run_bidsim(args, o, e);
  if (out) *out = o.str();
  if (err) *err = e.str();
  return rc;
}

std::uint64_t count(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? 0 : v->to_number<std::uint64_t>();
}

// The value of one Prometheus series, 0 when absent.
double metric(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("bidsim against the real bidder: bids, wins, notices and clicks are accepted",
          "[sim][integration]") {
  temp_dir dir;
  const std::string config = (dir.path / "config.json").string();
  const std::vector<std::string> market{"--seed", "5", "--users", "2000"};
  std::vector<std::string> setup = market;
  setup.insert(setup.end(),
               {"--write-config", config, "--write-audiences", (dir.path / "audiences").string()});
  std::string out, err;
  REQUIRE(run(setup, &out, &err) == 0);
  CHECK(fs::exists(dir.path / "audiences" / "auto-site-visitor.txt"));

  std::ostringstream log;
  bidder::app::serve_options options;
  options.config_path = config;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = (dir.path / "data").string();
  options.threads = 1;
  options.shed_queued = std::chrono::microseconds(0);  // no shedding on a busy test machine
  options.shed_busy_share = 0;
  auto svc = bidder::app::service::start(options, log);
  INFO(log.str());
  REQUIRE(svc);
  const std::string bid = "http://127.0.0.1:" + std::to_string((*svc)->bid_port()) + "/bid";
  const std::string admin = "http://127.0.0.1:" + std::to_string((*svc)->admin_port());

  std::vector<std::string> push = market;
  push.insert(push.end(), {"--push-audiences", "--admin", admin});
  REQUIRE(run(push, &out, &err) == 0);
  INFO(out << err);
  CHECK(out.find("pushed auto-site-visitor") != std::string::npos);

  std::vector<std::string> sim = market;
  sim.insert(sim.end(), {"--days", "2", "--requests-per-day", "1500", "--target", bid, "--admin",
                         admin, "--bidders", "bidder,oracle", "--quiet"});
  auto run_once = [&](const std::string& name) {
    std::vector<std::string> args = sim;
    args.insert(args.end(), {"--json", (dir.path / name).string()});
    REQUIRE(run(args, &out, &err) == 0);
    return read_json(dir.path / name).at("runs").as_array().at(0).as_object();
  };
  const json::object first = run_once("first.json");
  const json::object second = run_once("second.json");
  INFO(json::serialize(first));

  const json::object& total = first.at("total").as_object();
  const json::object& live = first.at("live").as_object();
  const json::object& notices = live.at("notices").as_object();
  const std::uint64_t bids = count(total, "bids");
  const std::uint64_t wins = count(total, "wins");
  CHECK(count(total, "requests") == 3000);
  CHECK(bids > 1000);
  CHECK(wins > 100);
  CHECK(live.at("bid_errors").as_object().empty());
  CHECK(live.contains("late_answers"));
  // Every win and bill notice accepted (204), every loss too.
  CHECK(count(notices, "win 204") == wins);
  CHECK(count(notices, "bill 204") == wins);
  CHECK(count(notices, "loss 204") == bids - wins);
  CHECK(notices.size() == 3);
  // Clicks redirected to the landing page.
  CHECK(count(total, "clicks") > 0);
  CHECK(count(live, "clicks_fired") == count(total, "clicks"));
  CHECK(count(live, "clicks_redirected") == count(live, "clicks_fired"));
  // Conversions: posted to POST /admin/conversions and credited to our bids.
  CHECK(count(total, "conversions") > 0);
  CHECK(count(live, "conversions_posted") == count(total, "conversions"));
  CHECK(count(live, "conversions_accepted") == count(total, "conversions"));
  CHECK(count(live, "conversions_not_sent") == 0);

  // The same seed against the same bidder: the same outcome.
  CHECK(json::serialize(first.at("days")) == json::serialize(second.at("days")));
  CHECK(json::serialize(first.at("total")) == json::serialize(second.at("total")));
  CHECK(json::serialize(notices) == json::serialize(second.at("live").as_object().at("notices")));

  // The bidder's own books show the notices of both runs.
  bidder::sim::http_client client("127.0.0.1", (*svc)->admin_port(), std::chrono::seconds(5));
  const auto m = client.send("GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK(metric(m.body, R"(bidder_notices_total{kind="win"})") == Approx(2.0 * double(wins)));
  CHECK(metric(m.body, R"(bidder_notices_total{kind="click"})") ==
        Approx(2.0 * double(count(total, "clicks"))));
  CHECK(metric(m.body, R"(bidder_conversions_total{result="accepted"})") ==
        Approx(2.0 * double(count(total, "conversions"))));
  (*svc)->stop(std::chrono::seconds(1));
}

TEST_CASE("bidsim's command line: usage errors, loopback only, reports", "[sim][unit]") {
  temp_dir dir;
  std::string out, err;
  CHECK(run({"--help"}, &out) == 0);
  CHECK(out.find("--target") != std::string::npos);
  CHECK(run({"--days", "0"}, nullptr, &err) == 2);
  CHECK(run({"--bogus"}, nullptr, &err) == 2);
  CHECK(err.find("unknown flag") != std::string::npos);
  CHECK(run({"--bidders", "bidder"}, nullptr, &err) == 2);  // needs --target
  CHECK(run({"--target", "http://10.1.2.3:8080/bid", "--bidders", "bidder"}, nullptr, &err) == 2);
  CHECK(err.find("loopback") != std::string::npos);
  const std::string html = (dir.path / "r.html").string();
  const std::string report = (dir.path / "r.json").string();
  REQUIRE(run({"--users", "500", "--days", "2", "--requests-per-day", "2000", "--json", report,
               "--html", html},
              &out, &err) == 0);
  CHECK(out.find("== oracle") != std::string::npos);
  CHECK(out.find("== fixed") != std::string::npos);
  CHECK(out.find("side by side") != std::string::npos);
  const json::object doc = read_json(report);
  CHECK(doc.at("runs").as_array().size() == 2);
  CHECK(doc.at("runs").as_array().at(0).at("days").as_array().size() == 2);
  std::ifstream in(html);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("<svg") != std::string::npos);
  CHECK(text.str().find("<script") == std::string::npos);
  // A scenario file, and flags that override it wherever they stand.
  const std::string scenario = (dir.path / "s.json").string();
  REQUIRE(run({"--write-scenario", scenario, "--users", "300"}, &out, &err) == 0);
  const std::string overridden = (dir.path / "o.json").string();
  REQUIRE(run({"--seed", "9", "--scenario", scenario, "--days", "1", "--requests-per-day", "50",
               "--quiet", "--json", overridden},
              &out, &err) == 0);
  const json::object sc = read_json(overridden).at("scenario").as_object();
  CHECK(sc.at("seed").to_number<int>() == 9);
  CHECK(sc.at("users").to_number<int>() == 300);
  CHECK(run({"--scenario", (dir.path / "none.json").string()}, nullptr, &err) == 2);
  CHECK(err.find("cannot read") != std::string::npos);
  CHECK(run({"--json", (dir.path / "missing" / "r.json").string(), "--users", "100", "--days", "1",
             "--requests-per-day", "10"},
            nullptr, &err) == 1);
}

TEST_CASE("bidsim against the embedded demo config: each demo campaign's spend and return",
          "[sim][integration]") {
  // The demo scenario's campaigns and exchanges are the demo config's, so `bidder serve`
  // without a config is the bidder under test (docs/bidsim.md "Against the demo bidder").
  temp_dir dir;
  std::ostringstream log;
  bidder::app::serve_options options;
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
  const std::string scenario = std::string(BIDDER_SOURCE_DIR) + "/bench/sim/scenarios/demo.json";
  std::string out, err;
  REQUIRE(run({"--scenario", scenario, "--seed", "3", "--users", "3000", "--push-audiences",
               "--admin", admin},
              &out, &err) == 0);
  REQUIRE(run({"--scenario", scenario, "--seed", "3", "--users", "3000", "--days", "2",
               "--requests-per-day", "2000", "--target", bid, "--admin", admin, "--bidders",
               "bidder", "--quiet", "--json", (dir.path / "run.json").string()},
              &out, &err) == 0);
  INFO(out << err);
  const json::object run_json =
      read_json(dir.path / "run.json").at("runs").as_array().at(0).as_object();
  const json::object& live = run_json.at("live").as_object();
  CHECK(live.at("bid_errors").as_object().empty());  // every bid names a scenario campaign
  CHECK(count(live, "conversions_posted") == count(live, "conversions_accepted"));

  // The campaign manager's view: the bidder's own report, per campaign, asked for at once
  // after the run (the report writes the events still queued first).
  bidder::sim::http_client client("127.0.0.1", (*svc)->admin_port(), std::chrono::seconds(5));
  const auto r = client.send("GET", "/admin/report?group_by=campaign&format=json");
  REQUIRE(r.status == 200);
  (*svc)->stop(std::chrono::seconds(1));
  const json::value report = json::parse(r.body);
  std::map<std::string, json::object> rows;
  for (const json::value& row : report.at("days").as_array()) {
    rows[std::string(row.at("campaign_id").as_string())] = row.as_object();
  }
  auto number = [](const json::object& row, const char* key) {
    return row.at(key).to_number<double>();
  };
  for (const char* campaign : {"auto-intenders", "contextual-display"}) {
    INFO(campaign);
    REQUIRE(rows.contains(campaign));
    CHECK(number(rows[campaign], "impressions") > 0);
    CHECK(number(rows[campaign], "spend") > 0);
    CHECK(number(rows[campaign], "clicks") > 0);
  }
  // bidsim's totals and the bidder's books agree.
  std::uint64_t impressions = 0, conversions = 0, clicks = 0;
  for (const auto& [id, row] : rows) {
    impressions += row.at("impressions").to_number<std::uint64_t>();
    conversions += row.at("conversions").to_number<std::uint64_t>();
    clicks += row.at("clicks").to_number<std::uint64_t>();
  }
  const json::object& total = run_json.at("total").as_object();
  CHECK(impressions == count(total, "wins"));
  CHECK(clicks == count(total, "clicks"));
  CHECK(conversions == count(total, "conversions"));
}
