#include "bidder/events/event_log.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <charconv>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bidder/report/report.hpp"
#include "tests/events/events_test_support.hpp"

namespace {

using bidder::errc;
using bidder::events::event;
using bidder::events::event_kind;
using bidder::events::event_log;
using bidder::events::event_log_options;
using bidder::events::to_json_line;
using events_test::fake_clock;
using events_test::sample;
using events_test::sys_ms;
using events_test::t0;
using events_test::temp_dir;
using namespace std::chrono_literals;

std::unique_ptr<event_log> open_log(event_log_options options) {
  auto log = event_log::open(std::move(options));
  if (!log) FAIL(log.error());
  return std::move(*log);
}

// `count` bids numbered from `first` (the number is the bid id).
std::vector<std::string> append_bids(event_log& log, int first, int count) {
  std::vector<std::string> lines;
  for (int i = first; i < first + count; ++i) {
    const std::string id = "bid-" + std::to_string(i);
    event e = sample(event_kind::bid);
    e.bid_id = id;
    CHECK(log.append(e));
    lines.push_back(to_json_line(e));
    lines.back().pop_back();  // the '\n'
  }
  return lines;
}

}  // namespace

TEST_CASE("appended events are written as lines to a file named after the clock",
          "[events][unit]") {
  temp_dir dir;
  fake_clock clock(t0);
  auto log = open_log({.dir = dir.path, .clock = clock});
  std::vector<std::string> expected;
  for (auto kind :
       {event_kind::bid, event_kind::win, event_kind::bill, event_kind::loss, event_kind::click}) {
    CHECK(log->append(sample(kind)));
    expected.push_back(to_json_line(sample(kind)));
  }
  log->flush();
  const auto files = events_test::read_files(dir.path);
  REQUIRE(files.size() == 1);
  CHECK(files.begin()->first == "events-20261122-101530-0.jsonl");
  CHECK(files.begin()->second ==
        expected[0] + expected[1] + expected[2] + expected[3] + expected[4]);
  const auto stats = log->stats();
  CHECK(stats.accepted == 5);
  CHECK(stats.written == 5);
  CHECK(stats.dropped == 0);
  CHECK(stats.lost == 0);
  CHECK(stats.files_opened == 1);
}

TEST_CASE("a full queue drops and counts, and append never blocks", "[events][unit]") {
  temp_dir dir;
  fake_clock clock(t0);
  auto log = open_log({.dir = dir.path, .queue_capacity = 8, .clock = clock});
  log->pause_writer_for_test();
  const auto queued = append_bids(*log, 0, 8);
  // The writer is parked: an append that waited for room would hang this test for ever.
  int refused = 0;
  for (int i = 0; i < 1000; ++i) refused += log->append(sample(event_kind::win)) ? 0 : 1;
  CHECK(refused == 1000);
  CHECK(log->dropped() == 1000);
  CHECK(events_test::all_lines(dir.path).empty());
  log->resume_writer_for_test();
  log->flush();
  CHECK(events_test::all_lines(dir.path) == queued);
  SECTION("there is room again once the writer has drained") {
    const auto more = append_bids(*log, 8, 8);
    log->flush();
    CHECK(log->stats().written == 16);
    CHECK(log->dropped() == 1000);
  }
  SECTION("appends after stop are dropped and counted") {
    log->stop();
    CHECK_FALSE(log->append(sample(event_kind::bid)));
    CHECK(log->dropped() == 1001);
    log->flush();  // returns at once after stop
    CHECK(log->stats().written == 8);
  }
}

TEST_CASE("stop writes what is queued, even with the writer parked", "[events][unit]") {
  temp_dir dir;
  fake_clock clock(t0);
  auto log = open_log({.dir = dir.path, .clock = clock});
  log->pause_writer_for_test();
  const auto queued = append_bids(*log, 0, 5);
  log->stop();
  CHECK(events_test::all_lines(dir.path) == queued);
  CHECK(log->stats().written == 5);
}

TEST_CASE("files rotate before a line would take them past max_file_bytes", "[events][unit]") {
  temp_dir dir;
  fake_clock clock(t0);
  // Bids 10..99 all format to the same length.
  event probe = sample(event_kind::bid);
  probe.bid_id = "bid-10";
  const std::size_t line_bytes = to_json_line(probe).size();
  auto log = open_log({.dir = dir.path, .max_file_bytes = line_bytes * 5 / 2, .clock = clock});
  const auto lines = append_bids(*log, 10, 7);
  log->flush();
  const auto files = events_test::read_files(dir.path);
  std::vector<std::string> names;
  for (const auto& [name, text] : files) {
    names.push_back(name);
    CHECK(text.size() <= line_bytes * 5 / 2);
  }
  // Two lines a file; N tells apart the files opened in the same second.
  CHECK(names == std::vector<std::string>{
                     "events-20261122-101530-0.jsonl", "events-20261122-101530-1.jsonl",
                     "events-20261122-101530-2.jsonl", "events-20261122-101530-3.jsonl"});
  CHECK(events_test::lines_of(files.at(names[0])).size() == 2);
  CHECK(events_test::lines_of(files.at(names[3])).size() == 1);
  CHECK(events_test::all_lines(dir.path) == lines);
  SECTION("a line longer than the limit is written alone in its own file") {
    event big = sample(event_kind::win);
    const std::string control(128, '\x01');  // 6 bytes each once escaped as \u0001
    big.auction_id = control;
    REQUIRE(to_json_line(big).size() > line_bytes * 5 / 2);
    CHECK(log->append(big));
    const auto after = append_bids(*log, 20, 1);
    log->flush();
    const auto now = events_test::read_files(dir.path);
    REQUIRE(now.size() == 6);
    CHECK(now.at("events-20261122-101530-4.jsonl") == to_json_line(big));
    CHECK(now.at("events-20261122-101530-5.jsonl") == after[0] + "\n");
  }
}

TEST_CASE("files rotate when the clock enters a new hour", "[events][unit]") {
  temp_dir dir;
  fake_clock clock(sys_ms(t0 - 15min - 30s + 59min + 59s - 250ms));  // 10:59:59.000
  auto log = open_log({.dir = dir.path, .clock = clock});
  const auto first = append_bids(*log, 0, 2);
  log->flush();
  clock.advance(1s);  // 11:00:00
  const auto second = append_bids(*log, 2, 3);
  log->flush();
  auto files = events_test::read_files(dir.path);
  REQUIRE(files.size() == 2);
  CHECK(events_test::lines_of(files.at("events-20261122-105959-0.jsonl")).size() == 2);
  CHECK(events_test::lines_of(files.at("events-20261122-110000-1.jsonl")).size() == 3);
  SECTION("an idle hour leaves no empty file") {
    clock.advance(2h);
    log->flush();
    log->stop();
    CHECK(events_test::read_files(dir.path).size() == 2);
    CHECK(log->stats().files_opened == 2);
  }
  SECTION("within the hour the file is kept") {
    clock.advance(59min);  // 11:59:00
    append_bids(*log, 5, 1);
    log->flush();
    CHECK(events_test::read_files(dir.path).size() == 2);
  }
}

TEST_CASE("a restarted log never appends to an existing file", "[events][unit]") {
  temp_dir dir;
  fake_clock clock(t0);
  events_test::write_file(dir.path / "events-20261122-101530-0.jsonl", "from before\n");
  auto log = open_log({.dir = dir.path, .clock = clock});
  append_bids(*log, 0, 1);
  log->flush();
  const auto files = events_test::read_files(dir.path);
  CHECK(files.at("events-20261122-101530-0.jsonl") == "from before\n");
  CHECK(events_test::lines_of(files.at("events-20261122-101530-1.jsonl")).size() == 1);
}

TEST_CASE("write errors are counted and the log goes on in a new file", "[events][unit]") {
  temp_dir dir;
  fake_clock clock(t0);
  auto log = open_log({.dir = dir.path, .clock = clock});
  SECTION("a write that fails half-way") {
    log->fail_next_writes_for_test(1);
    log->pause_writer_for_test();  // so that the 5 lines go in one write
    append_bids(*log, 10, 5);      // 5 equal lines; half the bytes hold 2 whole lines and a half
    log->resume_writer_for_test();
    log->flush();
    auto stats = log->stats();
    CHECK(stats.write_errors == 1);
    CHECK(stats.written == 2);
    CHECK(stats.lost == 3);
    const auto later = append_bids(*log, 20, 3);
    log->flush();
    stats = log->stats();
    CHECK(stats.written == 5);
    CHECK(stats.files_opened == 2);
    CHECK(stats.accepted == stats.written + stats.lost);
    // The report reads the whole lines, and skips the one cut in the middle.
    auto report = bidder::reporting::build_report({.dir = dir.path});
    REQUIRE(report.has_value());
    CHECK(report->input.events == 5);
    CHECK(report->input.cut_short == 1);
    REQUIRE(report->totals.size() == 1);
    CHECK(report->totals[0].bids == 5);
  }
  SECTION("a directory that vanished, then came back") {
    append_bids(*log, 0, 2);
    log->flush();
    std::filesystem::remove_all(dir.path);
    clock.advance(1h);  // rotation: the new file cannot be created
    append_bids(*log, 2, 4);
    log->flush();
    auto stats = log->stats();
    CHECK(stats.write_errors >= 1);
    CHECK(stats.lost == 4);
    std::filesystem::create_directories(dir.path);
    const auto back = append_bids(*log, 6, 3);
    log->flush();
    stats = log->stats();
    CHECK(stats.written == 5);
    CHECK(stats.accepted == stats.written + stats.lost);
    CHECK(events_test::all_lines(dir.path) == back);
  }
}

TEST_CASE("open refuses bad options, naming them", "[events][unit]") {
  temp_dir dir;
  auto refused = [&](event_log_options options, errc code, std::string_view words) {
    auto log = event_log::open(std::move(options));
    REQUIRE_FALSE(log.has_value());
    CHECK(log.error().code == code);
    CHECK_THAT(log.error().message, Catch::Contains(std::string(words)));
  };
  refused({}, errc::invalid_config, "dir");
  refused({.dir = dir.path, .queue_capacity = 1000}, errc::invalid_config, "queue_capacity");
  refused({.dir = dir.path, .queue_capacity = 0}, errc::invalid_config, "queue_capacity");
  refused({.dir = dir.path, .max_file_bytes = 0}, errc::invalid_config, "max_file_bytes");
  events_test::write_file(dir.path / "plain-file", "x");
  refused({.dir = dir.path / "plain-file"}, errc::io_error, "plain-file");
}

TEST_CASE("four threads appending 50,000 events each: every event is written or dropped",
          "[events][concurrency]") {
  temp_dir dir;
  fake_clock clock(t0);
  // A small queue, so that drops happen as well as writes.
  auto log = open_log({.dir = dir.path, .queue_capacity = 1024, .clock = clock});
  constexpr int threads = 4, per_thread = 50'000;
  std::vector<int> accepted(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::string campaign = "campaign-" + std::to_string(t);
      char bid_id[16];
      for (int i = 0; i < per_thread; ++i) {
        event e = sample(event_kind::bid);
        e.campaign_id = campaign;
        const auto end = std::to_chars(bid_id, bid_id + sizeof bid_id, i).ptr;
        e.bid_id = std::string_view(bid_id, end - bid_id);
        if (log->append(e)) ++accepted[t];
      }
    });
  }
  for (auto& w : workers) w.join();
  log->flush();
  const auto stats = log->stats();
  CHECK(stats.written + stats.dropped == threads * per_thread);
  CHECK(stats.lost == 0);
  CHECK(stats.accepted == stats.written);
  // Each thread's accepted events are in the files, once each and in its order.
  std::vector<int> last(threads, -1), seen(threads, 0);
  bidder::reporting::line_parser parser;
  bidder::reporting::log_record record;
  bool ordered = true;
  const auto lines = events_test::all_lines(dir.path);
  CHECK(lines.size() == stats.written);
  for (const auto& line : lines) {
    REQUIRE(parser.parse(line, record).has_value());
    const int t = record.campaign_id.back() - '0';
    const auto at = line.find("\"bid_id\":\"") + 10;
    const int number = std::stoi(line.substr(at));
    if (number <= last[t]) ordered = false;
    last[t] = number;
    ++seen[t];
  }
  CHECK(ordered);
  CHECK(seen == accepted);
}
