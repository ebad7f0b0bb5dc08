#include "bidder/report/report_request.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bidder/events/event.hpp"
#include "tests/events/events_test_support.hpp"

namespace {

using bidder::errc;
using bidder::reporting::answer_report_request;
using bidder::reporting::parse_day;
using bidder::reporting::parse_report_request;
using bidder::reporting::report_format;

}  // namespace

TEST_CASE("the admin report's query string is parsed strictly", "[report][unit]") {
  SECTION("every parameter, percent-decoded") {
    const auto r = parse_report_request(
        "from=2026-11-22&to=2026-11-23&campaign=spring%20sale&exchange=x1&group_by=campaign%2C"
        "exchange&format=csv");
    REQUIRE(r.has_value());
    CHECK(r->query.from == *parse_day("2026-11-22"));
    CHECK(r->query.to == *parse_day("2026-11-23"));
    CHECK(r->query.campaign_id == "spring sale");
    CHECK(r->query.exchange == "x1");
    CHECK(to_string(r->query.grouping) == "campaign,exchange");
    CHECK(r->format == report_format::csv);
  }
  SECTION("none: the whole log, by campaign and day, as JSON") {
    const auto r = parse_report_request("");
    REQUIRE(r.has_value());
    CHECK_FALSE(r->query.from);
    CHECK_FALSE(r->query.campaign_id);
    CHECK(to_string(r->query.grouping) == "campaign,day");
    CHECK(r->format == report_format::json);
  }
  SECTION("a bad one is refused, naming it") {
    for (const auto& [query, reason] : std::vector<std::pair<std::string, std::string>>{
             {"from=2026-02-30", "from: "},
             {"to=yesterday", "to: "},
             {"from=2026-11-23&to=2026-11-22", "from: 2026-11-23 is after to 2026-11-22"},
             {"campaign=", "campaign: expected an id"},
             {"exchange", "exchange: expected an id"},
             {"group_by=segments", "group_by: \"segments\""},
             {"format=xml", "format \"xml\""},
             {"from=2026-11-22&from=2026-11-23", "from: given twice"},
             {"campaign=%zz", "campaign: bad %-escape"},
             {"bogus=1", "unknown parameter \"bogus\""}}) {
      INFO(query);
      const auto r = parse_report_request(query);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == errc::invalid_field);
      CHECK_THAT(r.error().message, Catch::StartsWith(reason));
    }
  }
}

TEST_CASE("the admin report answers as the command line renders", "[report][unit]") {
  events_test::temp_dir dir;
  auto conversion = events_test::sample(bidder::events::event_kind::conversion);
  events_test::write_file(
      dir.path / "events-20261122-101530-0.jsonl",
      bidder::events::to_json_line(events_test::sample(bidder::events::event_kind::win)) +
          bidder::events::to_json_line(conversion) + bidder::events::to_json_line(conversion));
  const auto json = answer_report_request("group_by=exchange", dir.path);
  CHECK(json.status == 200);
  CHECK(json.content_type == "application/json");
  const auto value = boost::json::parse(json.body);
  CHECK(value.at("days").at(0).at("exchange").as_string() == "x1");
  CHECK(value.at("days").at(0).at("conversions").as_int64() == 1);
  CHECK(value.at("input").at("duplicates").as_int64() == 1);
  const auto csv = answer_report_request("format=csv", dir.path);
  CHECK(csv.status == 200);
  CHECK(csv.content_type == "text/csv; charset=utf-8");
  CHECK_THAT(csv.body, Catch::StartsWith("day,campaign,currency,"));
  const auto bad = answer_report_request("group_by=day&to=2026-13-01", dir.path);
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::StartsWith("to: "));
  CHECK(answer_report_request("", dir.path / "missing").status == 404);
}
