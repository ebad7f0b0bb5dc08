#include "bidder/events/log_file_name.hpp"

#include <catch2/catch.hpp>

using bidder::events::format_log_file_name;
using bidder::events::parse_log_file_name;

TEST_CASE("a log file's name carries its opening second and counter, and reads back",
          "[events][unit]") {
  using namespace std::chrono;
  const auto opened = sys_days(year(2026) / 11 / 22) + hours(10) + minutes(15) + seconds(30);
  const std::string name = format_log_file_name(opened + milliseconds(999), 12);
  CHECK(name == "events-20261122-101530-12.jsonl");
  const auto back = parse_log_file_name(name);
  REQUIRE(back);
  CHECK(back->opened == opened);
  CHECK(back->number == 12);
  CHECK(parse_log_file_name("events-20261122-101530-18446744073709551615.jsonl"));
}

TEST_CASE("log files order by time, then by counter as a number", "[events][unit]") {
  const auto name = [](const char* text) { return *parse_log_file_name(text); };
  CHECK(name("events-20261122-101530-9.jsonl") < name("events-20261122-101530-10.jsonl"));
  CHECK(name("events-20261122-101530-10.jsonl") < name("events-20261122-101531-0.jsonl"));
  CHECK(name("events-20261121-235959-5.jsonl") < name("events-20261122-000000-0.jsonl"));
  CHECK_FALSE(name("events-20261122-101530-2.jsonl") < name("events-20261122-101530-2.jsonl"));
}

TEST_CASE("names that are not the log's are refused", "[events][unit]") {
  for (const char* bad : {"events-20261122-101530-.jsonl", "events-2026112-101530-0.jsonl",
                          "events-20261122-101530-0.jsonl.tmp", "events-20261122-101530-0.json",
                          "stream.cursor", "events-20261322-101530-0.jsonl",  // month 13
                          "events-20260230-101530-0.jsonl",                   // 30 February
                          "events-20261122-241530-0.jsonl", "events-20261122-101530--1.jsonl",
                          "events-20261122-101530-+1.jsonl", "events-2026112a-101530-0.jsonl",
                          "events-20261122_101530-0.jsonl", "events-20261122-101530-1x.jsonl",
                          "events-20261122-101530-18446744073709551616.jsonl", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_log_file_name(bad));
  }
}
