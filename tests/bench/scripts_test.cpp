// Tests of bench/summarize (run-all's summary.md) and bench/compare, run as a user runs them on
// results bidbench wrote: a real ramp against its built-in floor, edited where a case needs
// figures that a one-second run on a test machine cannot give (a bidder that sheds; the rule
// that finds the rate it held without shedding is bidbench's, tested in bidbench_test.cpp).
#include <stdio.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/load/bidbench.hpp"
#include "tests/bench/json_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::bench::test::read_json;
using bidder::bench::test::write_json;

namespace {

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bench-scripts") {}
};

struct script_result {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs a script of the source tree's bench/ with `args` (no shell quoting needed: temporary
// paths only).
script_result run_script(const std::string& script, const std::vector<std::string>& args) {
  std::string command = std::string(BIDDER_SOURCE_DIR) + "/bench/" + script;
  for (const auto& a : args) command += " '" + a + "'";
  command += " 2>&1";
  script_result r;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char chunk[4096];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) r.output.append(chunk, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A ramp of bidbench's floor at 500, 1,000 and 1,500/s (every step holds a 1 s p99), as
// floor-ramp.json in `dir`.
json::object floor_ramp(const fs::path& dir) {
  const fs::path report = dir / "floor-ramp.json";
  std::ostringstream out, err;
  const int rc = bidder::bench::run_bidbench(
      {"--floor", "--ramp", "500:1500:500", "--slo-p99", "1s", "--duration", "300ms", "--warmup",
       "0", "--connections", "2", "--pool", "20", "--json", report.string()},
      out, err);
  INFO(out.str() << err.str());
  REQUIRE(rc == 0);
  return read_json(report);
}

// Makes `step` answer 1,000 requests, `no_bids` of them 204.
void set_answers(json::value& step, std::uint64_t no_bids) {
  json::object& counts = step.as_object().at("counts").as_object();
  for (const char* key : {"client_errors_4xx", "server_errors_5xx", "other_status"}) {
    counts[key] = 0;
  }
  counts["bids_200"] = 1000 - no_bids;
  counts["no_bids_204"] = no_bids;
}

}  // namespace

TEST_CASE("bench/summarize gives the floor, the bidder, and the full auctions the bidder held",
          "[bench][integration]") {
  temp_dir dir;
  const json::object floor = floor_ramp(dir.path);
  // The bidder: the same three steps held, but from 1,500/s it sheds: a 204 share of 20 %
  // against the traffic's own 11.9 % (the first step's). 1,000/s, at 12.5 %, is within a point.
  json::object bidder = floor;
  json::object& ramp = bidder.at("ramps").as_array().at(0).as_object();
  ramp["label"] = "bidder";
  json::array& steps = ramp.at("steps").as_array();
  REQUIRE(steps.size() == 3);
  set_answers(steps[0], 119);
  set_answers(steps[1], 125);
  set_answers(steps[2], 200);
  ramp["max_rate_without_shedding"] = 1000;  // as bidbench finds it (bidbench_test.cpp)
  write_json(dir.path / "bidder-ramp.json", bidder);

  const script_result r = run_script("summarize", {dir.path.string()});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("| floor (bare Beast, 204) | 1,500/s |"));
  CHECK_THAT(r.output, Catch::Contains("| bidder | 1,500/s |"));
  CHECK_THAT(r.output, Catch::Contains("first step's 11.9 %) | 1,000/s | - | 67 % |"));

  // None held without shedding; and a result from a bidbench that did not report it.
  ramp["max_rate_without_shedding"] = nullptr;
  write_json(dir.path / "bidder-ramp.json", bidder);
  CHECK_THAT(run_script("summarize", {dir.path.string()}).output,
             Catch::Contains("first step's 11.9 %) | none | - | - |"));
  ramp.erase("max_rate_without_shedding");
  write_json(dir.path / "bidder-ramp.json", bidder);
  CHECK_THAT(run_script("summarize", {dir.path.string()}).output,
             Catch::Contains("| - (bidbench too old) | - | - |"));
}

TEST_CASE("bench/summarize gives each round's shares of its own floor, and their medians",
          "[bench][integration]") {
  temp_dir dir;
  const json::object floor = floor_ramp(dir.path);
  // Three rounds; the floor and the bidder drift between them, as on a shared VM.
  struct round {
    std::uint64_t floor, bidder, full;
  };
  const round rounds[] = {{1000, 1500, 500}, {500, 500, 500}, {1500, 1500, 1000}};
  for (std::size_t i = 0; i < std::size(rounds); ++i) {
    const std::string suffix = i == 0 ? "" : "-" + std::to_string(i + 1);
    json::object f = floor;
    f.at("ramps").as_array().at(0).as_object()["max_rate_under_slo"] = rounds[i].floor;
    json::object b = floor;
    json::object& ramp = b.at("ramps").as_array().at(0).as_object();
    ramp["label"] = "bidder";
    ramp["max_rate_under_slo"] = rounds[i].bidder;
    ramp["max_rate_without_shedding"] = rounds[i].full;
    write_json(dir.path / ("floor-ramp" + suffix + ".json"), f);
    write_json(dir.path / ("bidder-ramp" + suffix + ".json"), b);
  }
  const script_result r = run_script("summarize", {dir.path.string()});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("Medians of 3 rounds"));
  CHECK_THAT(r.output, Catch::Contains("| round 1 | 1,000/s | 1,500/s | 150 % | 500/s | 50 % |"));
  CHECK_THAT(r.output, Catch::Contains("| round 2 | 500/s | 500/s | 100 % | 500/s | 100 % |"));
  CHECK_THAT(r.output, Catch::Contains("| round 3 | 1,500/s | 1,500/s | 100 % | 1,000/s | 67 % |"));
  // The median of the shares (100, 150, 100 %; 50, 100, 67 %), not the share of the medians.
  CHECK_THAT(r.output,
             Catch::Contains("| **median** | 1,000/s | 1,500/s | 100 % | 500/s | 67 % |"));
  // What run-all sets its fixed-rate runs from: the medians of the bidder's answered and
  // full-auction maxima, and its first step.
  const script_result rates = run_script("summarize", {"--rates", dir.path.string()});
  CHECK(rates.code == 0);
  CHECK(rates.output == "1500 500 500\n");
}

TEST_CASE("bench/summarize puts nginx at the bidder's half rate below the fixed-rate runs",
          "[bench][integration]") {
  temp_dir dir;
  floor_ramp(dir.path);
  const fs::path half = dir.path / "bidder-half.json";
  std::ostringstream out, err;
  const int rc = bidder::bench::run_bidbench(
      {"--floor", "--rate", "400", "--duration", "300ms", "--warmup", "0", "--connections", "2",
       "--pool", "20", "--json", half.string()},
      out, err);
  INFO(out.str() << err.str());
  REQUIRE(rc == 0);
  fs::copy_file(half, dir.path / "nginx-half.json");

  const script_result r = run_script("summarize", {dir.path.string()});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("| half | 400/s |"));
  CHECK_THAT(r.output, Catch::Contains("| nginx at half | 400/s |"));
  CHECK(r.output.find("| half |") < r.output.find("| nginx at half |"));
}

TEST_CASE("bench/summarize refuses a folder without results, naming it", "[bench][unit]") {
  temp_dir dir;
  script_result r = run_script("summarize", {dir.path.string()});
  CHECK(r.code != 0);
  CHECK_THAT(r.output, Catch::Contains("has neither floor-ramp.json nor bidder-ramp.json"));
  std::ofstream(dir.path / "floor-ramp.json") << "{\"tool\": \"bidbench\", ";  // cut short
  r = run_script("summarize", {dir.path.string()});
  CHECK(r.code != 0);
  CHECK_THAT(r.output, Catch::Contains("floor-ramp.json"));
  CHECK_THAT(r.output, !Catch::Contains("Traceback"));
}

TEST_CASE("bench/compare pairs runs by label, then by free position, never one run twice",
          "[bench][integration]") {
  temp_dir dir;
  const json::object floor = floor_ramp(dir.path);
  const json::array& steps = floor.at("ramps").as_array().at(0).as_object().at("steps").as_array();
  // Runs made of the ramp's steps (a step is a run with a verdict), relabelled.
  auto with_runs = [&](std::vector<std::string> labels) {
    json::object doc = floor;
    json::array runs;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      json::object run = steps.at(i % steps.size()).as_object();
      run["label"] = labels[i];
      runs.push_back(std::move(run));
    }
    doc["runs"] = std::move(runs);
    return doc;
  };
  const fs::path a = dir.path / "a.json", b = dir.path / "b.json";

  // "x" pairs by label although B has it second; "w" has no label in B, and B's run at its
  // position is "x", taken already: "w" stays unpaired.
  write_json(a, with_runs({"w", "x"}));
  write_json(b, with_runs({"x", "y"}));
  script_result r = run_script("compare", {a.string(), b.string()});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("\nx "));
  CHECK_THAT(r.output, !Catch::Contains("w vs"));
  CHECK_THAT(r.output, !Catch::Contains("vs y"));
  CHECK_THAT(r.output, Catch::Contains("floor: max rate under SLO"));  // the ramps, by label
  CHECK_THAT(r.output, Catch::Contains("1.00x"));

  // No label in common: runs pair by position.
  write_json(a, with_runs({"before"}));
  write_json(b, with_runs({"after"}));
  r = run_script("compare", {a.string(), b.string()});
  CHECK_THAT(r.output, Catch::Contains("before vs after"));

  // A file that is not a bidbench result is named.
  std::ofstream(dir.path / "other.json") << "{\"tool\": \"wrk\"}";
  r = run_script("compare", {a.string(), (dir.path / "other.json").string()});
  CHECK(r.code != 0);
  CHECK_THAT(r.output, Catch::Contains("other.json: not a bidbench --json result"));
}
