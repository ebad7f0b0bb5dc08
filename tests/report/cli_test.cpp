#include "bidder/report/cli.hpp"

#include <catch2/catch.hpp>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bidder/events/event.hpp"
#include "tests/events/events_test_support.hpp"

namespace {

using bidder::events::event_kind;
using events_test::temp_dir;

struct cli_result {
  int code;
  std::string out;
  std::string err;
};

// Runs `bidder report ARGS...`, capturing what it prints.
cli_result run(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int code = bidder::reporting::run_report_cli(views);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("bidder report prints the summary and what it skipped", "[events][cli]") {
  temp_dir dir;
  auto bid = events_test::sample(event_kind::bid);
  auto other = events_test::sample(event_kind::bid);
  other.campaign_id = "other";
  other.exchange = "x2";  // bid's is "x1"
  events_test::write_file(
      dir.path / "events-20261122-101530-0.jsonl",
      bidder::events::to_json_line(bid) + bidder::events::to_json_line(other) + "{oops\n");
  const std::string d = dir.path.string();

  SECTION("csv for one campaign and day") {
    const auto r = run({"--dir", d, "--from", "2026-11-22", "--to", "2026-11-22", "--campaign",
                        "auto-intenders", "--format", "csv"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("day,campaign,"));
    CHECK_THAT(r.out, Catch::Contains("\n2026-11-22,auto-intenders,USD,1,0,"));
    CHECK_THAT(r.out, !Catch::Contains("other"));
    CHECK_THAT(r.err, Catch::Contains("1 events counted, 1 outside the filters, 1 malformed"));
    CHECK_THAT(r.err, Catch::Contains("skipped events-20261122-101530-0.jsonl:3: not JSON"));
  }
  SECTION("--exchange keeps one exchange's events") {
    const auto r = run({"--dir", d, "--exchange", "x2", "--format", "csv"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("other"));
    CHECK_THAT(r.out, !Catch::Contains("auto-intenders"));
    CHECK_THAT(r.err, Catch::Contains("1 events counted, 1 outside the filters"));
    CHECK(run({"--dir", d, "--exchange", ""}).code == 2);
  }
  SECTION("--group-by picks the rows' dimensions") {
    const auto r = run({"--dir", d, "--group-by", "exchange,campaign", "--format", "csv"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("campaign,exchange,currency,bids,"));
    CHECK_THAT(r.out, Catch::Contains("\nauto-intenders,x1,USD,1,"));
    CHECK_THAT(r.out, Catch::Contains("\nother,x2,USD,1,"));
    const auto bad = run({"--dir", d, "--group-by", "audience"});
    CHECK(bad.code == 2);
    CHECK_THAT(bad.err, Catch::Contains("group_by: \"audience\""));
  }
  SECTION("a table by default, stating the attribution model") {
    const auto r = run({"--dir", d});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("day "));
    CHECK_THAT(r.out, Catch::Contains("other"));
    CHECK_THAT(r.out, Catch::Contains("attribution: last_click, else last_view"));
  }
  SECTION("json") {
    const auto r = run({"--dir", d, "--format", "json"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("{\"days\":["));
  }
  SECTION("bad usage is exit 2 with the reason") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--dir", d, "--from", "2026-02-30"},
             {"--dir", d, "--format", "xml"},
             {"--dir", d, "--from", "2026-11-23", "--to", "2026-11-22"},
             {"--dir"},
             {"--bogus", "1"}}) {
      const auto r = run(args);
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Catch::Contains("usage:"));
    }
  }
  SECTION("a missing directory is exit 1, naming it") {
    const auto r = run({"--dir", d + "/missing"});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("missing"));
  }
  SECTION("--help") {
    const auto r = run({"--help"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("bidder report"));
  }
}
