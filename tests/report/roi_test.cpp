// The ROI part of `bidder report` (bidder/report/report.hpp): conversion lines, their
// de-duplication, the ROI columns, the unattributed total and --group-by.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bidder/events/event_log.hpp"
#include "bidder/report/report.hpp"
#include "tests/events/events_test_support.hpp"

namespace {

using bidder::errc;
using bidder::money;
using bidder::events::attribution;
using bidder::events::event;
using bidder::events::event_kind;
using bidder::events::event_log;
using bidder::reporting::build_report;
using bidder::reporting::campaign_summary;
using bidder::reporting::group_by;
using bidder::reporting::log_record;
using bidder::reporting::parse_day;
using bidder::reporting::parse_group_by;
using bidder::reporting::read_stats;
using bidder::reporting::report_builder;
using bidder::reporting::report_format;
using bidder::reporting::sys_days;
using events_test::fake_clock;
using events_test::temp_dir;
using namespace std::chrono_literals;

sys_days day(std::string_view text) { return *parse_day(text); }

std::int64_t ms_at(sys_days d, std::chrono::milliseconds offset) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d.time_since_epoch() + offset)
      .count();
}

const std::int64_t noon = ms_at(day("2026-11-22"), 12h);

log_record notice(event_kind kind, std::int64_t clearing_micros, bool charged) {
  log_record r;
  r.kind = kind;
  r.time_ms = noon;
  r.campaign_id = "c";
  r.creative_id = "banner";
  r.currency = "USD";
  r.exchange = "x";
  r.bid_price_micros = 3'000'000;
  r.clearing_price_micros = clearing_micros;
  r.charged = charged;
  return r;
}

log_record conversion(std::string id, attribution rule, std::int64_t value_micros,
                      std::string campaign = "c", std::int64_t time_ms = noon) {
  log_record r;
  r.kind = event_kind::conversion;
  r.time_ms = time_ms;
  r.campaign_id = std::move(campaign);
  r.creative_id = "banner";
  r.currency = "USD";
  r.exchange = rule == attribution::unattributed ? "" : "x";
  r.conversion_id = std::move(id);
  r.value_micros = value_micros;
  r.credited_by = rule;
  return r;
}

bidder::result<void> parse(std::string_view line, log_record& out) {
  bidder::reporting::line_parser parser;
  return parser.parse(line, out);
}

}  // namespace

TEST_CASE("conversion lines are read; only an unattributed one may lack the campaign",
          "[report][unit]") {
  log_record r;
  SECTION("the writer's line, field for field") {
    const auto line = bidder::events::to_json_line(events_test::sample(event_kind::conversion));
    REQUIRE(parse(line.substr(0, line.size() - 1), r).has_value());
    CHECK(r.kind == event_kind::conversion);
    CHECK(r.campaign_id == "auto-intenders");
    CHECK(r.creative_id == "auto-banner-1");
    CHECK(r.exchange == "x1");
    CHECK(r.conversion_id == "order-1187");
    CHECK(r.value_micros == 59'900'000);
    CHECK(r.credited_by == attribution::last_click);
  }
  SECTION("protobuf's own spelling: the kind as a number, camelCase, int64 as text") {
    REQUIRE(parse(R"({"kind":6,"timeMs":"5","campaignId":"c","conversionId":"o","valueMicros":)"
                  R"("12","attribution":"last_view"})",
                  r)
                .has_value());
    CHECK(r.value_micros == 12);
    CHECK(r.credited_by == attribution::last_view);
  }
  SECTION("unattributed, without a campaign or with an empty one") {
    REQUIRE(parse(R"({"kind":"CONVERSION","time_ms":5,"conversion_id":"o",)"
                  R"("attribution":"unattributed"})",
                  r)
                .has_value());
    CHECK(r.campaign_id.empty());
    CHECK(r.credited_by == attribution::unattributed);
    CHECK(parse(R"({"kind":"CONVERSION","time_ms":5,"campaign_id":"","conversion_id":"o",)"
                R"("attribution":"unattributed"})",
                r)
              .has_value());
  }
  SECTION("refused, naming the field") {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {R"({"kind":"CONVERSION","time_ms":5,"conversion_id":"o","attribution":"last_click"})",
         "campaign_id: missing"},
        {R"({"kind":"CONVERSION","time_ms":5,"campaign_id":"","conversion_id":"o",)"
         R"("attribution":"last_view"})",
         "campaign_id: expected"},
        {R"({"kind":"CONVERSION","time_ms":5,"campaign_id":"c","attribution":"last_click"})",
         "conversion_id: missing"},
        {R"({"kind":"CONVERSION","time_ms":5,"campaign_id":"c","conversion_id":"o"})",
         "attribution: missing"},
        {R"({"kind":"CONVERSION","time_ms":5,"campaign_id":"c","conversion_id":"o",)"
         R"("attribution":"linear"})",
         "attribution: expected"},
        {R"({"kind":"CONVERSION","time_ms":5,"campaign_id":"c","conversion_id":"o",)"
         R"("attribution":"last_click","value_micros":-1})",
         "value_micros: expected"},
        {R"({"kind":"BID","time_ms":5,"attribution":"unattributed"})", "campaign_id: missing"},
        {R"({"kind":7,"time_ms":5,"campaign_id":"c"})", "kind: not"},
    };
    for (const auto& [line, reason] : bad) {
      INFO(line);
      const auto parsed = parse(line, r);
      REQUIRE_FALSE(parsed.has_value());
      CHECK_THAT(parsed.error().message, Catch::StartsWith(reason));
    }
  }
}

TEST_CASE("the ROI columns: conversions, value, CVR, CPA and ROAS", "[report][unit]") {
  report_builder builder({});
  read_stats stats;
  // 4 paid impressions at 2.50 CPM: spend 0.01.
  for (int i = 0; i < 4; ++i) builder.add(notice(event_kind::win, 2'500'000, true), stats);
  for (int i = 0; i < 2; ++i) {
    log_record click = notice(event_kind::click, 0, false);
    click.charged.reset();
    builder.add(click, stats);
  }
  builder.add(conversion("o1", attribution::last_click, 30'000), stats);
  builder.add(conversion("o2", attribution::last_view, 10'000), stats);
  builder.add(conversion("o3", attribution::last_view, 0), stats);
  // Credited to no touch: apart, not in the row.
  builder.add(conversion("o4", attribution::unattributed, 7'000'000, ""), stats);
  builder.add(conversion("o5", attribution::unattributed, 1'000'000, "c"), stats);
  const auto report = builder.finish(stats);
  REQUIRE(report.days.size() == 1);
  const campaign_summary& row = report.days[0];
  CHECK(row.spend() == money::from_micros(10'000));
  CHECK(row.conversions() == 3);
  CHECK(row.last_click_conversions == 1);
  CHECK(row.last_view_conversions == 2);
  CHECK(row.conversion_value() == money::from_micros(40'000));
  CHECK(row.conversion_rate() == Approx(1.5));  // 3 / 2 clicks: view-throughs count too
  CHECK(row.conversions_per_mille() == Approx(750.0));
  CHECK(row.cost_per_acquisition() == money::from_micros(3'333));  // 0.01 / 3
  CHECK(row.return_on_ad_spend() == Approx(4.0));                  // 0.04 / 0.01
  REQUIRE(report.unattributed.size() == 1);
  CHECK(report.unattributed[0].day == day("2026-11-22"));
  CHECK(report.unattributed[0].currency == "USD");
  CHECK(report.unattributed[0].conversions == 2);
  CHECK(report.unattributed[0].value_micros == 8'000'000);
  CHECK(report.input.events == 11);

  SECTION("undefined where there is nothing to divide by") {
    report_builder none({});
    read_stats s;
    none.add(conversion("o1", attribution::last_click, 5), s);
    const auto r = none.finish(s);
    REQUIRE(r.days.size() == 1);
    CHECK_FALSE(r.days[0].conversion_rate());
    CHECK_FALSE(r.days[0].conversions_per_mille());
    CHECK_FALSE(r.days[0].return_on_ad_spend());
    CHECK(r.days[0].cost_per_acquisition() == money::from_micros(0));
    const auto empty = report_builder({}).finish({});
    CHECK(empty.days.empty());
    CHECK(empty.unattributed.empty());
  }
  SECTION("rendered in every form, with the attribution model stated") {
    const std::string table = render(report, report_format::table);
    CHECK_THAT(table, Catch::Contains("conversions  last_click  last_view  conv_value"));
    CHECK_THAT(table, Catch::Contains("unattributed conversions"));
    CHECK_THAT(table, Catch::Contains("2026-11-22  USD                 2    8.000000"));
    CHECK_THAT(table, Catch::Contains("attribution: last_click, else last_view"));
    CHECK_THAT(table, Catch::Contains("not available: requests matched"));
    const std::string csv = render(report, report_format::csv);
    CHECK_THAT(csv, Catch::Contains(",basis,conversions,last_click,last_view,conv_value,cvr,"
                                    "conv_per_mille,cpa,roas,models\n"));
    CHECK_THAT(csv, Catch::EndsWith(",win,3,1,2,0.040000,1.500000,750.0000,0.003333,4.0000,-\n"));
    const auto json = boost::json::parse(render(report, report_format::json));
    const auto& d = json.at("days").at(0);
    CHECK(d.at("conversions").as_int64() == 3);
    CHECK(d.at("last_click_conversions").as_int64() == 1);
    CHECK(d.at("last_view_conversions").as_int64() == 2);
    CHECK(d.at("conversion_value").as_double() == Approx(0.04));
    CHECK(d.at("cvr").as_double() == Approx(1.5));
    CHECK(d.at("conversions_per_mille").as_double() == Approx(750));
    CHECK(d.at("cpa").as_double() == Approx(0.003333));
    CHECK(d.at("roas").as_double() == Approx(4.0));
    CHECK(json.at("totals").at(0).at("conversions").as_int64() == 3);
    CHECK(json.at("unattributed").at(0).at("conversions").as_int64() == 2);
    CHECK(json.at("unattributed").at(0).at("conversion_value").as_double() == Approx(8.0));
    CHECK(json.at("attribution_model").as_string() == "last_click, else last_view");
    CHECK(json.at("group_by").as_string() == "campaign,day");
    CHECK(json.at("input").at("duplicates").as_int64() == 0);
  }
}

TEST_CASE("a conversion written twice counts once; the repeat is counted apart", "[report][unit]") {
  report_builder builder({.campaign_id = "c"});
  read_stats stats;
  builder.add(conversion("o1", attribution::last_click, 1'000), stats);
  builder.add(conversion("o1", attribution::last_click, 1'000), stats);  // after a crash
  // Not the same conversion: another time, or another campaign (the advertiser's id is unique
  // per advertiser only).
  builder.add(conversion("o1", attribution::last_click, 1'000, "c", noon + 1), stats);
  builder.add(conversion("o1", attribution::last_click, 1'000, "d"), stats);
  // A repeat is dropped whatever the filters, so the count does not depend on them.
  builder.add(conversion("o1", attribution::last_click, 1'000, "d"), stats);
  builder.add(conversion("o2", attribution::unattributed, 5, ""), stats);
  builder.add(conversion("o2", attribution::unattributed, 5, ""), stats);
  const auto report = builder.finish(stats);
  CHECK(report.input.duplicates == 3);
  CHECK(report.input.filtered == 2);  // campaign d, and the unattributed one named none
  CHECK(report.input.events == 2);
  REQUIRE(report.days.size() == 1);
  CHECK(report.days[0].conversions() == 2);
  CHECK(report.days[0].conversion_value_micros == 2'000);
  CHECK(report.unattributed.empty());
  CHECK_THAT(bidder::reporting::describe_input(report.input),
             Catch::Contains("3 duplicate conversions"));
}

TEST_CASE("grouped by arm, each experiment arm is a row, its conversions with it",
          "[report][unit]") {
  report_builder builder({.grouping = *parse_group_by("campaign,arm")});
  read_stats stats;
  auto in_arm = [](log_record r, std::string arm) {
    r.arm = std::move(arm);
    return r;
  };
  builder.add(in_arm(notice(event_kind::win, 2'000'000, true), "price-test/treatment"), stats);
  builder.add(in_arm(notice(event_kind::win, 1'000'000, true), "price-test/control"), stats);
  builder.add(in_arm(notice(event_kind::win, 1'000'000, true), ""), stats);
  builder.add(in_arm(conversion("o1", attribution::last_click, 5'000'000), "price-test/treatment"),
              stats);
  const auto report = builder.finish(stats);
  REQUIRE(report.days.size() == 3);
  CHECK(report.days[0].arm.empty());  // no arm sorts first
  CHECK(report.days[1].arm == "price-test/control");
  CHECK(report.days[2].arm == "price-test/treatment");
  CHECK(report.days[2].conversions() == 1);
  CHECK(report.days[2].impressions == 1);
  const std::string table = render(report, report_format::table);
  CHECK_THAT(table, Catch::Contains("price-test/treatment"));
  CHECK_THAT(render(report, report_format::csv), Catch::StartsWith("campaign,arm,currency,"));
}

TEST_CASE("grouped by segment, a bid's notices and conversions join its segments by bid id",
          "[report][unit]") {
  report_builder builder({.from = day("2026-11-22"),
                          .to = day("2026-11-22"),
                          .grouping = *parse_group_by("campaign,segment")});
  read_stats stats;
  auto of_bid = [](log_record r, std::string bid_id) {
    r.bid_id = std::move(bid_id);
    return r;
  };
  auto bid = [&](std::string bid_id, std::string features, std::int64_t time_ms = noon) {
    log_record r = notice(event_kind::bid, 0, false);
    r.charged.reset();
    r.time_ms = time_ms;
    r.features = std::move(features);
    r.model = "rules";
    return of_bid(r, std::move(bid_id));
  };
  // b1 saw a first- and a third-party segment, b2 one of them, b3 none; b0 was made the day
  // before the range, its win falls in it.
  builder.add(bid("b0", "x=x s=a.example g=auto-site-visitor:1 h=23",
                  ms_at(day("2026-11-21"), 23h + 59min)),
              stats);
  builder.add(bid("b1", "x=x s=a.example g=auto-site-visitor:0 g=3p:acme:243:0 f=300x250"), stats);
  builder.add(bid("b2", "x=x g=3p:acme:243:0"), stats);
  builder.add(bid("b3", "x=x s=a.example d=2"), stats);
  for (const char* id : {"b0", "b1", "b2", "b3"}) {
    builder.add(of_bid(notice(event_kind::win, 2'000'000, true), id), stats);
  }
  builder.add(of_bid(notice(event_kind::click, 0, false), "b1"), stats);
  builder.add(of_bid(conversion("o1", attribution::last_click, 5'000'000), "b1"), stats);
  builder.add(of_bid(conversion("o2", attribution::last_view, 1'000'000), "b2"), stats);
  const auto report = builder.finish(stats);

  std::map<std::string, const campaign_summary*> by_segment;
  for (const campaign_summary& row : report.days) by_segment[row.segment] = &row;
  REQUIRE(by_segment.size() == 3);
  const campaign_summary& none = *by_segment.at("");
  const campaign_summary& first_party = *by_segment.at("auto-site-visitor");
  const campaign_summary& third_party = *by_segment.at("3p:acme:243");
  CHECK(none.bids == 1);
  CHECK(none.impressions == 1);
  CHECK(none.conversions() == 0);
  CHECK(first_party.bids == 1);         // b0's bid is before the range
  CHECK(first_party.impressions == 2);  // b0's and b1's wins
  CHECK(first_party.clicks == 1);
  CHECK(first_party.conversions() == 1);
  CHECK(third_party.bids == 2);
  CHECK(third_party.impressions == 2);
  CHECK(third_party.conversions() == 2);
  CHECK(third_party.conversion_value_micros == 6'000'000);
  CHECK(third_party.models == std::set<std::string>{"rules"});

  const std::string table = render(report, report_format::table);
  CHECK_THAT(table, Catch::Contains("the rows overlap"));
  CHECK_THAT(render(report, report_format::csv), Catch::StartsWith("campaign,segment,currency,"));
  CHECK_THAT(render(report, report_format::json),
             Catch::Contains(R"("segment":"3p:acme:243")") &&
                 Catch::Contains(R"("segment_rows_overlap":true)"));
}

TEST_CASE("a grouping names any of day, campaign, creative and exchange", "[report][unit]") {
  CHECK(*parse_group_by("campaign,day") == group_by{});
  CHECK(*parse_group_by("day,campaign") == group_by{});
  CHECK(to_string(group_by{}) == "campaign,day");
  const auto all = parse_group_by("exchange,day,creative,campaign");
  REQUIRE(all.has_value());
  CHECK(to_string(*all) == "campaign,creative,exchange,day");
  CHECK(to_string(*parse_group_by("exchange")) == "exchange");
  for (const auto& [text, reason] : std::vector<std::pair<std::string, std::string>>{
           {"", "group_by: expected"},
           {"campaign,", "group_by: \"\" is not"},
           {"day,day", "group_by: \"day\" twice"},
           {"country", "group_by: \"country\" is not"},
           {"segments", "group_by: \"segments\" is not"},
           {"Campaign", "group_by: \"Campaign\" is not"}}) {
    INFO(text);
    const auto parsed = parse_group_by(text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == errc::invalid_field);
    CHECK_THAT(parsed.error().message, Catch::Contains(reason));
  }
}

TEST_CASE("rows follow the grouping; currencies never mix", "[report][unit]") {
  auto with = [](log_record r, std::string creative, std::string exchange, std::string currency,
                 std::int64_t time_ms = noon) {
    r.creative_id = std::move(creative);
    r.exchange = std::move(exchange);
    r.currency = std::move(currency);
    r.time_ms = time_ms;
    return r;
  };
  const std::int64_t next_day = noon + 86'400'000;
  const std::vector<log_record> records = {
      with(notice(event_kind::win, 1'000'000, true), "a", "x1", "USD"),
      with(notice(event_kind::win, 2'000'000, true), "b", "x1", "USD"),
      with(notice(event_kind::win, 4'000'000, true), "a", "x2", "USD", next_day),
      with(notice(event_kind::win, 8'000'000, true), "a", "x2", "EUR"),
      with(conversion("o1", attribution::last_click, 100), "a", "x2", "USD", next_day),
  };
  auto run = [&](std::string_view grouping) {
    report_builder builder({.grouping = *parse_group_by(grouping)});
    read_stats stats;
    for (const auto& r : records) builder.add(r, stats);
    return builder.finish(stats);
  };
  SECTION("exchange: one row per exchange and currency, no day, no totals") {
    const auto r = run("exchange");
    REQUIRE(r.days.size() == 3);
    CHECK(r.totals.empty());
    CHECK((r.days[0].exchange == "x1" && r.days[0].currency == "USD"));
    CHECK(r.days[0].paid_cpm_micros == 3'000'000);
    CHECK((r.days[1].exchange == "x2" && r.days[1].currency == "EUR"));
    CHECK((r.days[2].exchange == "x2" && r.days[2].currency == "USD"));
    CHECK(r.days[2].conversions() == 1);
    for (const auto& row : r.days) {
      CHECK_FALSE(row.day);
      CHECK(row.campaign_id.empty());
      CHECK(row.creative_id.empty());
    }
    CHECK_THAT(render(r, report_format::csv), Catch::StartsWith("exchange,currency,bids,"));
    const auto json = boost::json::parse(render(r, report_format::json));
    CHECK(json.at("days").at(0).at("exchange").as_string() == "x1");
    CHECK_FALSE(json.at("days").at(0).as_object().contains("campaign_id"));
  }
  SECTION("creative and day: totals per creative and currency") {
    const auto r = run("creative,day");
    REQUIRE(r.days.size() == 4);  // a USD x 2 days, a EUR, b USD
    REQUIRE(r.totals.size() == 3);
    CHECK((r.totals[0].creative_id == "a" && r.totals[0].currency == "EUR"));
    CHECK((r.totals[1].creative_id == "a" && r.totals[1].currency == "USD"));
    CHECK(r.totals[1].paid_cpm_micros == 5'000'000);
    CHECK(r.totals[1].wins == 2);
    CHECK_THAT(render(r, report_format::table),
               Catch::StartsWith("day         creative  currency"));
  }
  SECTION("nothing but the currency") {
    const auto r = run("day");
    REQUIRE(r.days.size() == 3);  // USD day 1, EUR day 1, USD day 2
    CHECK(r.days[0].campaign_id.empty());
  }
}

// Totals equal the events sent: a seeded random mix, written by the real event log into a
// directory (conversions written twice among them, as after a crash), read back under
// several groupings; each row is checked against sums the test keeps itself.
TEST_CASE("a report's rows sum to the generated events under every grouping",
          "[report][integration]") {
  temp_dir dir;
  const sys_days day1 = day("2026-11-22"), day2 = day("2026-11-23");
  fake_clock clock{events_test::sys_ms(day1)};
  auto opened = event_log::open({.dir = dir.path, .clock = clock});
  REQUIRE(opened.has_value());
  event_log& log = **opened;

  // The full key: (campaign, creative, exchange, day, currency).
  using full_key = std::tuple<std::string, std::string, std::string, sys_days, std::string>;
  struct sums {
    std::uint64_t bids = 0, wins = 0, bills = 0, losses = 0, clicks = 0, impressions = 0;
    std::uint64_t last_click = 0, last_view = 0;
    std::int64_t paid_cpm_micros = 0, value_micros = 0;
  };
  std::map<full_key, sums> expected;
  std::map<std::pair<sys_days, std::string>, std::pair<std::uint64_t, std::int64_t>> unattributed;
  std::uint64_t appended = 0, duplicates = 0;

  // gamma pays in EUR; x1 counts spend on the bill, x2 (which sends no bills) on the win.
  const std::vector<std::pair<std::string, std::string>> campaigns = {
      {"alpha", "USD"}, {"beta", "USD"}, {"gamma", "EUR"}};
  std::mt19937 rng(20261122);
  std::uniform_int_distribution<int> pick_kind(0, 99), pick3(0, 2), pick2(0, 1);
  std::uniform_int_distribution<std::int64_t> pick_price(100'000, 9'000'000),
      pick_value(0, 200'000'000), pick_ms(0, 86'399'999);
  std::vector<std::string> ids;  // keeps the strings the events view alive until appended
  ids.reserve(20'000);
  std::vector<event> resend;  // conversions the "crashed" bidder writes again later
  for (const sys_days d : {day1, day2}) {
    clock.set(events_test::sys_ms(d + 1h));  // files are named after the day they hold
    for (int i = 0; i < 4000; ++i) {
      const auto& [campaign, currency] = campaigns[pick3(rng)];
      event e;
      e.campaign_id = campaign;
      e.currency = currency;
      e.creative_id = pick2(rng) == 0 ? "banner" : "video";
      e.exchange = pick2(rng) == 0 ? "x1" : "x2";
      e.time_ms = ms_at(d, std::chrono::milliseconds(pick_ms(rng)));
      const int k = pick_kind(rng);
      e.kind = k < 40   ? event_kind::bid
               : k < 60 ? event_kind::win
               : k < 70 ? event_kind::bill
               : k < 78 ? event_kind::loss
               : k < 90 ? event_kind::click
                        : event_kind::conversion;
      if (e.kind == event_kind::bill && e.exchange == "x2") e.kind = event_kind::win;
      if (e.kind != event_kind::click && e.kind != event_kind::conversion) {
        e.bid_price = money::from_micros(pick_price(rng));
      }
      if (e.kind == event_kind::win || e.kind == event_kind::bill) {
        e.clearing_price = money::from_micros(pick_price(rng) % e.bid_price.micros() + 1);
        e.charged = (e.exchange == "x1") == (e.kind == event_kind::bill);
      }
      bool credited = true;
      if (e.kind == event_kind::conversion) {
        ids.push_back("order-" + std::to_string(ids.size()));
        e.conversion_id = ids.back();
        e.value = money::from_micros(pick_value(rng));
        const int rule = pick3(rng);
        e.credited_by = rule == 0   ? attribution::last_click
                        : rule == 1 ? attribution::last_view
                                    : attribution::unattributed;
        if (e.credited_by == attribution::unattributed) {
          credited = false;
          e.exchange = {};
          e.creative_id = {};
          if (pick2(rng) == 0) e.campaign_id = {};  // the advertiser named no campaign
        }
      }
      REQUIRE(log.append(e));
      ++appended;
      if (e.kind == event_kind::conversion) {
        const int again = pick3(rng);
        if (again == 0) {  // written twice in a row
          REQUIRE(log.append(e));
          ++appended;
          ++duplicates;
        } else if (again == 1) {
          resend.push_back(e);  // written again after the "restart", into a later file
        }
      }
      if (!credited) {
        auto& [count, value] = unattributed[{d, std::string(e.currency)}];
        ++count;
        value += e.value.micros();
        continue;
      }
      sums& x = expected[{std::string(e.campaign_id), std::string(e.creative_id),
                          std::string(e.exchange), d, std::string(e.currency)}];
      x.bids += e.kind == event_kind::bid;
      x.wins += e.kind == event_kind::win;
      x.bills += e.kind == event_kind::bill;
      x.losses += e.kind == event_kind::loss;
      x.clicks += e.kind == event_kind::click;
      if ((e.kind == event_kind::win || e.kind == event_kind::bill) && e.charged) {
        ++x.impressions;
        x.paid_cpm_micros += e.clearing_price.micros();
      }
      if (e.kind == event_kind::conversion) {
        ++(e.credited_by == attribution::last_click ? x.last_click : x.last_view);
        x.value_micros += e.value.micros();
      }
    }
    log.flush();
  }
  clock.set(events_test::sys_ms(day2 + 5h));  // the restart: a new file
  for (const event& e : resend) {
    REQUIRE(log.append(e));
    ++appended;
    ++duplicates;
  }
  log.stop();
  REQUIRE(log.stats().written == appended);
  REQUIRE(duplicates > 100);

  for (const std::string grouping : {"campaign,day", "campaign", "creative,exchange",
                                     "campaign,creative,exchange,day", "day", "exchange,day"}) {
    INFO("--group-by " << grouping);
    const group_by g = *parse_group_by(grouping);
    auto report = build_report({.dir = dir.path, .grouping = g});
    REQUIRE(report.has_value());
    CHECK(report->input.malformed == 0);
    CHECK(report->input.duplicates == duplicates);
    CHECK(report->input.events + report->input.duplicates == appended);
    // The generated sums, projected onto the grouping.
    std::map<full_key, sums> want;
    for (const auto& [k, x] : expected) {
      const auto& [campaign, creative, exchange, d, currency] = k;
      sums& w = want[{g.campaign ? campaign : "", g.creative ? creative : "",
                      g.exchange ? exchange : "", g.day ? d : sys_days{}, currency}];
      w.bids += x.bids;
      w.wins += x.wins;
      w.bills += x.bills;
      w.losses += x.losses;
      w.clicks += x.clicks;
      w.impressions += x.impressions;
      w.paid_cpm_micros += x.paid_cpm_micros;
      w.last_click += x.last_click;
      w.last_view += x.last_view;
      w.value_micros += x.value_micros;
    }
    REQUIRE(report->days.size() == want.size());
    for (const campaign_summary& row : report->days) {
      const full_key k{row.campaign_id, row.creative_id, row.exchange, row.day.value_or(sys_days{}),
                       row.currency};
      REQUIRE(want.count(k) == 1);
      const sums& w = want[k];
      CHECK(row.bids == w.bids);
      CHECK(row.wins == w.wins);
      CHECK(row.bills == w.bills);
      CHECK(row.losses == w.losses);
      CHECK(row.clicks == w.clicks);
      CHECK(row.impressions == w.impressions);
      CHECK(row.paid_cpm_micros == w.paid_cpm_micros);
      CHECK(row.last_click_conversions == w.last_click);
      CHECK(row.last_view_conversions == w.last_view);
      CHECK(row.conversion_value_micros == w.value_micros);
    }
    // With the day, each group's total over the range sums its days.
    if (g.day) {
      std::uint64_t total_conversions = 0, row_conversions = 0;
      std::int64_t total_paid = 0, row_paid = 0;
      for (const auto& t : report->totals) {
        total_conversions += t.conversions();
        total_paid += t.paid_cpm_micros;
      }
      for (const auto& row : report->days) {
        row_conversions += row.conversions();
        row_paid += row.paid_cpm_micros;
      }
      CHECK(total_conversions == row_conversions);
      CHECK(total_paid == row_paid);
    } else {
      CHECK(report->totals.empty());
    }
    REQUIRE(report->unattributed.size() == unattributed.size());
    for (const auto& u : report->unattributed) {
      const auto& [count, value] = unattributed[{u.day, u.currency}];
      CHECK(u.conversions == count);
      CHECK(u.value_micros == value);
    }
    // The JSON form carries the same sums.
    const auto json = boost::json::parse(render(*report, report_format::json));
    CHECK(json.at("days").as_array().size() == report->days.size());
    CHECK(json.at("group_by").as_string() == to_string(g));
    CHECK(json.at("input").at("duplicates").as_int64() == static_cast<std::int64_t>(duplicates));
  }
  SECTION("a filter keeps the de-duplication and the sums") {
    auto report = build_report({.dir = dir.path, .from = day2, .to = day2, .exchange = "x1"});
    REQUIRE(report.has_value());
    std::uint64_t conversions = 0, want = 0;
    for (const auto& row : report->days) conversions += row.conversions();
    for (const auto& [k, x] : expected) {
      if (std::get<2>(k) == "x1" && std::get<3>(k) == day2) want += x.last_click + x.last_view;
    }
    CHECK(conversions == want);
    CHECK(report->unattributed.empty());  // they have no exchange
  }
}

TEST_CASE("CPA and ROAS come with 95 % intervals that narrow with more conversions",
          "[report][unit]") {
  report_builder builder({});
  read_stats stats;
  // Spend: 1,000 impressions at CPM 50 = 50.00; 100 conversions of 1.00 each.
  for (int i = 0; i < 1000; ++i) builder.add(notice(event_kind::win, 50'000'000, true), stats);
  for (int i = 0; i < 100; ++i) {
    std::string id = "o";
    id += std::to_string(i);
    builder.add(conversion(id, attribution::last_click, 1'000'000), stats);
  }
  const auto report = builder.finish(stats);
  REQUIRE(report.days.size() == 1);
  const auto& row = report.days[0];
  CHECK(row.spend() == money::from_units(50));
  const auto cpa = row.cpa_interval();
  REQUIRE(cpa.has_value());
  CHECK(cpa->low == Approx(50 / (100 + 1.96 * 10)).epsilon(1e-3));
  REQUIRE(cpa->high.has_value());
  CHECK(*cpa->high == Approx(50 / (100 - 1.96 * 10)).epsilon(1e-3));
  const auto roas = row.roas_interval();
  REQUIRE(roas.has_value());
  CHECK(roas->low == Approx((100 - 1.96 * 10) / 50).epsilon(1e-3));
  CHECK(*roas->high == Approx((100 + 1.96 * 10) / 50).epsilon(1e-3));
  CHECK(roas->low < *row.return_on_ad_spend());
  CHECK(*roas->high > *row.return_on_ad_spend());
  const auto json = boost::json::parse(render(report, report_format::json));
  CHECK(json.at("days").at(0).at("cpa_ci95").as_array().size() == 2);

  SECTION("with 2 conversions the CPA has no upper bound yet") {
    report_builder few({});
    read_stats s;
    few.add(notice(event_kind::win, 50'000'000, true), s);
    few.add(conversion("a", attribution::last_click, 1'000'000), s);
    few.add(conversion("b", attribution::last_view, 1'000'000), s);
    const auto r = few.finish(s);
    const auto i = r.days[0].cpa_interval();
    REQUIRE(i.has_value());
    CHECK_FALSE(i->high.has_value());
    CHECK_THAT(render(r, report_format::json), Catch::Contains("\"cpa_ci95\":["));
    CHECK_THAT(render(r, report_format::json), Catch::Contains(",null]"));
  }
}
