#include "bidder/report/report.hpp"

#include <google/protobuf/util/json_util.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "bidder/events/event_log.hpp"
#include "bidder/events/v1/events.pb.h"
#include "tests/events/events_test_support.hpp"

namespace {

using bidder::errc;
using bidder::money;
using bidder::events::event;
using bidder::events::event_kind;
using bidder::events::event_log;
using bidder::reporting::build_report;
using bidder::reporting::campaign_summary;
using bidder::reporting::log_record;
using bidder::reporting::parse_day;
using bidder::reporting::read_stats;
using bidder::reporting::report_builder;
using bidder::reporting::report_format;
using bidder::reporting::spend_basis;
using bidder::reporting::sys_days;
using events_test::fake_clock;
using events_test::temp_dir;
using namespace std::chrono_literals;

sys_days day(std::string_view text) { return *parse_day(text); }

std::int64_t ms_at(sys_days d, std::chrono::milliseconds offset) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d.time_since_epoch() + offset)
      .count();
}

log_record record(event_kind kind, std::string campaign, std::string exchange,
                  std::int64_t bid_micros, std::int64_t clearing_micros,
                  std::int64_t time_ms = ms_at(day("2026-11-22"), 1h)) {
  log_record r;
  r.kind = kind;
  r.time_ms = time_ms;
  r.campaign_id = std::move(campaign);
  r.currency = "USD";
  r.exchange = std::move(exchange);
  r.bid_price_micros = bid_micros;
  r.clearing_price_micros = clearing_micros;
  return r;
}

const campaign_summary* find_row(const std::vector<campaign_summary>& rows,
                                 std::string_view campaign, std::optional<sys_days> d) {
  for (const auto& row : rows) {
    if (row.campaign_id == campaign && row.day == d) return &row;
  }
  return nullptr;
}

// What the test expects per (campaign, day), summed independently of the report code.
struct expected_sums {
  std::uint64_t bids = 0, wins = 0, bills = 0, clicks = 0;
  std::int64_t paid_cpm_micros = 0;
};

}  // namespace

TEST_CASE("a report's totals equal the events appended to the log", "[events][report]") {
  temp_dir dir;
  const sys_days day1 = day("2026-11-22"), day2 = day("2026-11-23");
  fake_clock clock{events_test::sys_ms(day1)};
  auto opened = event_log::open({.dir = dir.path, .clock = clock});
  REQUIRE(opened.has_value());
  event_log& log = **opened;

  // "alpha" runs on x1, which sends billing notices; "beta" on x2, which bills on the win.
  std::mt19937 rng(20261122);
  std::map<std::pair<std::string, sys_days>, expected_sums> expected;
  std::uniform_int_distribution<int> pick_kind(0, 9), pick_campaign(0, 1);
  std::uniform_int_distribution<std::int64_t> pick_price(100'000, 9'000'000),
      pick_ms(0, 86'399'999);
  for (const sys_days d : {day1, day2}) {
    clock.set(events_test::sys_ms(d + 1h));  // files are named after the day they hold
    for (int i = 0; i < 3000; ++i) {
      const bool alpha = pick_campaign(rng) == 0;
      event e;
      e.campaign_id = alpha ? "alpha" : "beta";
      e.exchange = alpha ? "x1" : "x2";
      e.currency = "USD";
      e.time_ms = ms_at(d, std::chrono::milliseconds(pick_ms(rng)));
      e.bid_price = money::from_micros(pick_price(rng));
      const int k = pick_kind(rng);
      e.kind = k < 5   ? event_kind::bid
               : k < 7 ? event_kind::win
               : k < 8 ? event_kind::bill
               : k < 9 ? event_kind::loss
                       : event_kind::click;
      if (!alpha && e.kind == event_kind::bill) e.kind = event_kind::win;
      if (e.kind == event_kind::win || e.kind == event_kind::bill) {
        e.clearing_price = money::from_micros(pick_price(rng) % e.bid_price.micros() + 1);
        // As the ledger decided: x1 counts on the bill, x2 on the win.
        e.charged = alpha ? e.kind == event_kind::bill : e.kind == event_kind::win;
      }
      REQUIRE(log.append(e));
      expected_sums& x = expected[{std::string(e.campaign_id), d}];
      x.bids += e.kind == event_kind::bid;
      x.wins += e.kind == event_kind::win;
      x.bills += e.kind == event_kind::bill;
      x.clicks += e.kind == event_kind::click;
      const bool paid = alpha ? e.kind == event_kind::bill : e.kind == event_kind::win;
      if (paid) x.paid_cpm_micros += e.clearing_price.micros();
    }
    log.flush();
  }
  log.stop();
  REQUIRE(log.stats().written == 6000);

  auto check_row = [&](const campaign_summary& row, const expected_sums& x) {
    CHECK(row.bids == x.bids);
    CHECK(row.wins == x.wins);
    CHECK(row.bills == x.bills);
    CHECK(row.clicks == x.clicks);
    CHECK(row.impressions == (row.campaign_id == "alpha" ? x.bills : x.wins));
    CHECK(row.spend().micros() == (x.paid_cpm_micros + 500) / 1000);
    CHECK(row.basis == (row.campaign_id == "alpha" ? spend_basis::bill : spend_basis::win));
  };
  SECTION("all days") {
    auto report = build_report({.dir = dir.path});
    REQUIRE(report.has_value());
    CHECK(report->input.events == 6000);
    CHECK(report->input.malformed == 0);
    CHECK(report->days.size() == 4);
    for (const auto& [key, x] : expected) {
      const auto* row = find_row(report->days, key.first, key.second);
      REQUIRE(row != nullptr);
      check_row(*row, x);
    }
    for (const std::string campaign : {"alpha", "beta"}) {
      const auto* total = find_row(report->totals, campaign, std::nullopt);
      REQUIRE(total != nullptr);
      expected_sums both = expected[{campaign, day1}];
      const expected_sums& second = expected[{campaign, day2}];
      both.bids += second.bids;
      both.wins += second.wins;
      both.bills += second.bills;
      both.clicks += second.clicks;
      both.paid_cpm_micros += second.paid_cpm_micros;
      // The total's spend rounds once, over both days' clearing prices.
      check_row(*total, both);
    }
  }
  SECTION("one day, chosen by --from and --to; the other day's file is not even read") {
    auto report = build_report({.dir = dir.path, .from = day2, .to = day2});
    REQUIRE(report.has_value());
    CHECK(report->input.files == 1);
    CHECK(report->input.files_skipped == 1);
    REQUIRE(report->days.size() == 2);
    for (const auto& row : report->days) {
      CHECK(row.day == day2);
      check_row(row, expected[{row.campaign_id, day2}]);
    }
  }
  SECTION("one campaign") {
    auto report = build_report({.dir = dir.path, .campaign_id = "beta"});
    REQUIRE(report.has_value());
    REQUIRE(report->days.size() == 2);
    for (const auto& row : report->days) check_row(row, expected[{"beta", *row.day}]);
    CHECK(report->input.filtered + report->input.events == 6000);
    CHECK(report->input.events ==
          expected[{"beta", day1}].bids + expected[{"beta", day2}].bids +
              expected[{"beta", day1}].wins + expected[{"beta", day2}].wins +
              expected[{"beta", day1}].clicks + expected[{"beta", day2}].clicks +
              (report->totals.at(0).losses));
  }
}

TEST_CASE("notices marked charged are the spend, as the ledger counted it", "[events][report]") {
  report_builder builder({});
  read_stats stats;
  auto notice = [](event_kind kind, std::int64_t clearing, bool charged) {
    log_record r = record(kind, "c", "x", 3'000'000, clearing);
    r.charged = charged;
    return r;
  };
  // x counts on the win: two charged wins; then one bill for the first, which the ledger did
  // not charge again. A report that switched the pair to its bills would count 1.00, not 3.00.
  builder.add(notice(event_kind::win, 1'000'000, true), stats);
  builder.add(notice(event_kind::win, 2'000'000, true), stats);
  builder.add(notice(event_kind::bill, 1'000'000, false), stats);
  // A bill that came without a charging win is charged (and counts as the bill basis).
  builder.add(notice(event_kind::bill, 500'000, true), stats);
  const auto report = builder.finish(stats);
  REQUIRE(report.days.size() == 1);
  const campaign_summary& row = report.days[0];
  CHECK(row.wins == 2);
  CHECK(row.bills == 2);
  CHECK(row.impressions == 3);
  CHECK(row.spend() == money::from_micros(3500));  // (1.00 + 2.00 + 0.50) / 1000
  CHECK(row.basis == spend_basis::mixed);
}

TEST_CASE("spend counts bills, or wins on an exchange that sends no bills", "[events][report]") {
  report_builder builder({});
  read_stats stats;
  // x bills: 2 wins and 1 bill at 1.00 CPM. y sends no bills: 3 wins at 2.00 CPM.
  builder.add(record(event_kind::bid, "c", "x", 1'500'000, 0), stats);
  builder.add(record(event_kind::win, "c", "x", 1'500'000, 1'000'000), stats);
  builder.add(record(event_kind::win, "c", "x", 1'500'000, 1'000'000), stats);
  builder.add(record(event_kind::bill, "c", "x", 1'500'000, 1'000'000), stats);
  for (int i = 0; i < 3; ++i)
    builder.add(record(event_kind::win, "c", "y", 2'500'000, 2'000'000), stats);
  builder.add(record(event_kind::click, "c", "y", 0, 0), stats);
  builder.add(record(event_kind::click, "c", "x", 0, 0), stats);
  for (int i = 0; i < 7; ++i) builder.add(record(event_kind::bid, "c", "y", 2'500'000, 0), stats);
  const auto report = builder.finish(stats);
  REQUIRE(report.days.size() == 1);
  const campaign_summary& row = report.days[0];
  CHECK(row.bids == 8);
  CHECK(row.wins == 5);
  CHECK(row.impressions == 4);                         // 1 bill on x + 3 wins on y
  CHECK(row.spend() == money::from_micros(7000));      // (1.00 + 3 * 2.00) / 1000
  CHECK(row.ecpm() == money::from_micros(1'750'000));  // 7.00 CPM over 4
  CHECK(row.win_rate() == Approx(5.0 / 8));
  CHECK(row.average_bid_price() == money::from_micros(2'100'000));       // (2*1.5+3*2.5)/5
  CHECK(row.average_clearing_price() == money::from_micros(1'600'000));  // (2*1+3*2)/5
  CHECK(row.clearing_to_bid() == Approx(8.0 / 10.5));
  CHECK(row.click_through_rate() == Approx(0.5));
  CHECK(row.cost_per_click() == money::from_micros(3500));
  CHECK(row.basis == spend_basis::mixed);
  SECTION("undefined rates are absent, not zero") {
    report_builder empty({});
    read_stats none;
    empty.add(record(event_kind::click, "d", "", 0, 0), none);
    const auto r = empty.finish(none);
    REQUIRE(r.days.size() == 1);
    CHECK_FALSE(r.days[0].win_rate());
    CHECK_FALSE(r.days[0].ecpm());
    CHECK_FALSE(r.days[0].click_through_rate());
    CHECK_FALSE(r.days[0].average_clearing_price());
    CHECK(r.days[0].cost_per_click() == money::from_micros(0));
    CHECK(r.days[0].basis == spend_basis::none);
  }
}

TEST_CASE("events without a currency join their campaign's one currency of the day",
          "[events][report]") {
  report_builder builder({});
  read_stats stats;
  builder.add(record(event_kind::win, "c", "x", 2'000'000, 1'000'000), stats);
  auto click = record(event_kind::click, "c", "x", 0, 0);
  click.currency.clear();
  builder.add(click, stats);
  SECTION("one currency: the click counts in its row") {
    const auto report = builder.finish(stats);
    REQUIRE(report.days.size() == 1);
    CHECK(report.days[0].currency == "USD");
    CHECK(report.days[0].clicks == 1);
  }
  SECTION("two currencies that day: the click gets a row of its own") {
    auto euro = record(event_kind::win, "c", "x", 2'000'000, 1'000'000);
    euro.currency = "EUR";
    builder.add(euro, stats);
    const auto report = builder.finish(stats);
    REQUIRE(report.days.size() == 3);
    CHECK(report.days[0].currency.empty());
    CHECK(report.days[0].clicks == 1);
    CHECK(report.totals.size() == 3);
  }
}

TEST_CASE("malformed, hostile and cut-short lines are skipped and counted", "[events][report]") {
  temp_dir dir;
  const std::string good = bidder::events::to_json_line(events_test::sample(event_kind::bid));
  std::string text = good;
  const std::vector<std::string> bad_lines = {
      "",
      "{",
      "[]",
      "null",
      "\"BID\"",
      R"({"kind":"BID"})",                                  // no time, campaign
      R"({"kind":"BID","time_ms":1,"campaign_id":""})",     // empty campaign
      R"({"kind":"BOGUS","time_ms":1,"campaign_id":"c"})",  // unknown kind
      R"({"kind":9,"time_ms":1,"campaign_id":"c"})",        // unknown number
      R"({"kind":"BID","time_ms":-5,"campaign_id":"c"})",   // negative time
      R"({"kind":"BID","time_ms":1.5,"campaign_id":"c"})",  // not an integer
      R"({"kind":"BID","time_ms":99999999999999999999999,"campaign_id":"c"})",
      R"({"kind":"WIN","time_ms":1,"campaign_id":"c","clearing_price_micros":-1})",
      R"({"kind":"WIN","time_ms":1,"campaign_id":"c","bid_price_micros":"12x"})",
      R"({"kind":"WIN","time_ms":1,"campaign_id":["c"]})",
      R"({"kind":"WIN","time_ms":1,"campaign_id":"c","currency":7})",
      good.substr(0, good.size() / 2),                        // cut in the middle
      good.substr(0, good.size() - 1) + "garbage",            // trailing bytes
      std::string(10'000, '[') + std::string(10'000, ']'),    // deep nesting
      std::string("{\"kind\":\"BID\",\0\"time_ms\":1}", 27),  // a NUL byte
      "\xff\xfe{\x01\x02",                                    // binary junk
      std::string(200'000, 'x'),                              // over max_line_bytes
  };
  for (const auto& line : bad_lines) text += line + "\n";
  text += good;
  text += good.substr(0, 40);  // the last line, cut short by a crash
  events_test::write_file(dir.path / "events-20261122-101530-0.jsonl", text);
  // Files that are not the log's are left alone.
  events_test::write_file(dir.path / "notes.txt", "{not a log}\n");

  auto report = build_report({.dir = dir.path});
  REQUIRE(report.has_value());
  const read_stats& in = report->input;
  CHECK(in.files == 1);
  CHECK(in.events == 2);
  CHECK(in.malformed == bad_lines.size());
  CHECK(in.cut_short == 1);
  CHECK(in.lines == bad_lines.size() + 3);
  REQUIRE(report->totals.size() == 1);
  CHECK(report->totals[0].bids == 2);
  REQUIRE(in.problems.size() == bidder::reporting::max_problems);
  CHECK(in.problems[0] == "events-20261122-101530-0.jsonl:2: not JSON: incomplete JSON");
  CHECK_THAT(in.problems[5], Catch::Contains(":7: time_ms: missing"));
  CHECK_THAT(in.problems[7], Catch::Contains(":9: kind: not BID"));
}

TEST_CASE("random bytes never crash the reader", "[events][report]") {
  temp_dir dir;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string text;
  for (int i = 0; i < 1 << 20; ++i) {
    const int b = byte(rng);
    text += static_cast<char>(b < 8 ? '\n' : b < 40 ? '{' : b < 60 ? '"' : b);
  }
  events_test::write_file(dir.path / "events-20261122-000000-0.jsonl", text);
  auto report = build_report({.dir = dir.path});
  REQUIRE(report.has_value());
  const read_stats& in = report->input;
  CHECK(in.lines > 10'000);
  CHECK(in.events + in.malformed + in.cut_short == in.lines);
  CHECK(in.events == 0);
}

TEST_CASE("lines printed by protobuf's own JSON printer are read too", "[events][report]") {
  bidder::events::v1::Event m;
  m.set_kind(bidder::events::v1::Event::WIN);
  m.set_time_ms(1'795'342'530'250);
  m.set_campaign_id("alpha");
  m.set_bid_price_micros(2'500'000);
  m.set_clearing_price_micros(1'800'000);
  m.set_currency("USD");
  m.set_exchange("x1");
  std::string line;
  REQUIRE(google::protobuf::util::MessageToJsonString(m, &line).ok());
  REQUIRE_THAT(line, Catch::Contains("\"timeMs\":\"1795342530250\""));  // camelCase, int64 text
  bidder::reporting::line_parser parser;
  log_record r;
  REQUIRE(parser.parse(line, r).has_value());
  CHECK(r.kind == event_kind::win);
  CHECK(r.time_ms == 1'795'342'530'250);
  CHECK(r.campaign_id == "alpha");
  CHECK(r.bid_price_micros == 2'500'000);
  CHECK(r.clearing_price_micros == 1'800'000);
  CHECK(r.currency == "USD");
  CHECK(r.exchange == "x1");
}

TEST_CASE("days are parsed strictly and ranges checked", "[events][report]") {
  CHECK(parse_day("2028-02-29").has_value());
  CHECK(bidder::reporting::format_day(day("2026-11-22")) == "2026-11-22");
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-1-01", "20261122", "2026-11-22x", "",
                          "abcd-ef-gh", "2026-11-00"}) {
    INFO(bad);
    auto r = parse_day(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_field);
  }
  temp_dir dir;
  auto reversed =
      build_report({.dir = dir.path, .from = day("2026-11-23"), .to = day("2026-11-22")});
  REQUIRE_FALSE(reversed.has_value());
  CHECK(reversed.error().code == errc::invalid_field);
  auto missing = build_report({.dir = dir.path / "nope"});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::not_found);
  CHECK_THAT(missing.error().message, Catch::Contains("nope"));
}

TEST_CASE("the report renders as a table, CSV and JSON", "[events][report]") {
  report_builder builder({});
  read_stats stats;
  // Two bids, priced by two models (an experiment's arms, say): the row names both.
  log_record rules_bid = record(event_kind::bid, "c,1", "x", 2'000'000, 0);
  rules_bid.model = "rules";
  log_record learned_bid = rules_bid;
  learned_bid.model = "learned";
  builder.add(rules_bid, stats);
  builder.add(learned_bid, stats);
  builder.add(record(event_kind::win, "c,1", "x", 2'000'000, 1'234'567), stats);
  builder.add(record(event_kind::click, "c,1", "x", 0, 0), stats);
  stats.files = 1;
  stats.lines = 4;
  const auto report = builder.finish(stats);

  SECTION("csv: one row per campaign and day, quoted where needed") {
    CHECK(render(report, report_format::csv) ==
          "day,campaign,currency,bids,wins,win_rate,impressions,spend,ecpm,avg_bid,avg_clearing,"
          "clearing/bid,clicks,ctr,cpc,basis,conversions,last_click,last_view,conv_value,cvr,"
          "conv_per_mille,cpa,roas,models\n"
          "2026-11-22,\"c,1\",USD,2,1,0.500000,1,0.001235,1.234567,2.000000,1.234567,0.6173,1,"
          "1.000000,0.001235,win,0,0,0,0.000000,0.000000,0.0000,,0.0000,learned+rules\n");
  }
  SECTION("table: aligned, with the campaign's total") {
    const std::string table = render(report, report_format::table);
    CHECK_THAT(table, Catch::StartsWith("day         campaign  currency  bids"));
    CHECK_THAT(table, Catch::Contains("2026-11-22  c,1       USD          2     1    50.00%"));
    CHECK_THAT(table, Catch::Contains("total       c,1       USD          2"));
  }
  SECTION("json: parses, with days, totals and what was read") {
    const auto value = boost::json::parse(render(report, report_format::json));
    const auto& day_row = value.at("days").at(0);
    CHECK(day_row.at("day").as_string() == "2026-11-22");
    CHECK(day_row.at("campaign_id").as_string() == "c,1");
    CHECK(day_row.at("bids").as_int64() == 2);
    CHECK(day_row.at("spend").as_double() == Approx(0.001235));
    CHECK(day_row.at("ecpm").as_double() == Approx(1.234567));
    CHECK(day_row.at("models") == boost::json::parse(R"(["learned","rules"])"));
    CHECK(value.at("totals").at(0).at("models").as_array().size() == 2);
    CHECK(value.at("totals").at(0).at("day").is_null());
    CHECK(value.at("input").at("lines").as_int64() == 4);
  }
  SECTION("an empty report says so") {
    const auto none = report_builder({}).finish({});
    CHECK_THAT(render(none, report_format::table), Catch::Contains("no events"));
    CHECK(render(none, report_format::csv).find('\n') ==
          render(none, report_format::csv).size() - 1);
  }
}
