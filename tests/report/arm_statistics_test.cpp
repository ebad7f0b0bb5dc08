// The statistics of comparing experiment arms (bidder/report/report.hpp: roas_difference,
// cpa_difference, report::arm_differences): seeded synthetic A/A replications through the
// report builder say "the arms differ" about 5 % of the time, and an A/B with a real effect is
// found most of the time.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>

#include "bidder/report/report.hpp"

namespace {

using bidder::events::attribution;
using bidder::events::event_kind;
using bidder::reporting::arm_comparison;
using bidder::reporting::campaign_summary;
using bidder::reporting::log_record;
using bidder::reporting::parse_group_by;
using bidder::reporting::read_stats;
using bidder::reporting::report_builder;
using bidder::reporting::report_format;

constexpr std::int64_t noon_ms = 1'795'003'200'000;  // 2026-11-18 12:00 UTC

// One arm's events: its spend as one charged win, then its conversions, each worth one of the
// scenario's conversion values (5, 7, 9 or 12 USD), as a campaign of mixed values would see.
struct arm_draw {
  double spend_usd = 0;
  double conversions_per_usd = 0;
};

void add_arm(report_builder& builder, read_stats& stats, const std::string& arm,
             const arm_draw& draw, std::mt19937_64& rng) {
  // One notice carrying the whole spend: a CPM price is 1000 times the cost of the impression.
  const auto cpm_micros = static_cast<std::int64_t>(draw.spend_usd * 1000 * 1e6);
  log_record win;
  win.kind = event_kind::win;
  win.time_ms = noon_ms;
  win.campaign_id = std::string(1, 'c');
  win.currency = std::string("USD");
  win.exchange = std::string(1, 'x');
  win.arm = arm;
  win.charged = true;
  win.clearing_price_micros = win.bid_price_micros = cpm_micros;
  builder.add(win, stats);
  std::poisson_distribution<int> count(draw.spend_usd * draw.conversions_per_usd);
  std::uniform_int_distribution<int> which(0, 3);
  constexpr std::int64_t values_micros[] = {5'000'000, 7'000'000, 9'000'000, 12'000'000};
  const int n = count(rng);
  for (int i = 0; i < n; ++i) {
    log_record c = win;
    c.kind = event_kind::conversion;
    c.charged.reset();
    c.clearing_price_micros = c.bid_price_micros = 0;
    c.conversion_id = arm + "-" + std::to_string(i);
    c.value_micros = values_micros[which(rng)];
    c.credited_by = attribution::last_click;
    builder.add(c, stats);
  }
}

// One replication: two arms of experiment "e" through the report, grouped by arm.
arm_comparison replicate(const arm_draw& a, const arm_draw& b, std::mt19937_64& rng,
                         bool& intervals_overlap) {
  report_builder builder({.grouping = *parse_group_by("arm")});
  read_stats stats;
  // Spend varies a little between arms, as the users' split does.
  std::normal_distribution<double> jitter(1.0, 0.02);
  add_arm(builder, stats, "e/a", {a.spend_usd * jitter(rng), a.conversions_per_usd}, rng);
  add_arm(builder, stats, "e/b", {b.spend_usd * jitter(rng), b.conversions_per_usd}, rng);
  const auto report = builder.finish(stats);
  REQUIRE(report.days.size() == 2);
  REQUIRE(report.arm_differences.size() == 1);
  const auto ia = report.days[0].roas_interval();
  const auto ib = report.days[1].roas_interval();
  REQUIRE((ia && ib));
  intervals_overlap = ia->low <= *ib->high && ib->low <= *ia->high;
  return report.arm_differences[0];
}

}  // namespace

TEST_CASE("an A/A experiment's arms differ about 5 % of the time, an A/B's real effect is found",
          "[report][unit]") {
  constexpr int replications = 2000;
  std::mt19937_64 rng(20261206);

  SECTION("A/A: both arms alike, about 100 conversions each") {
    const arm_draw same{.spend_usd = 50, .conversions_per_usd = 2};
    int roas_differ = 0, cpa_differ = 0, disjoint = 0;
    for (int i = 0; i < replications; ++i) {
      bool overlap = true;
      const arm_comparison c = replicate(same, same, rng, overlap);
      REQUIRE(c.roas.has_value());
      REQUIRE(c.cpa.has_value());
      roas_differ += c.roas->differs() ? 1 : 0;
      cpa_differ += c.cpa->differs() ? 1 : 0;
      disjoint += overlap ? 0 : 1;
    }
    const double roas_rate = roas_differ / double(replications);
    const double cpa_rate = cpa_differ / double(replications);
    const double disjoint_rate = disjoint / double(replications);
    INFO("false positives: ROAS " << roas_rate << ", CPA " << cpa_rate
                                  << ", disjoint ROAS intervals " << disjoint_rate);
    // The nominal 5 %; the binomial error over 2000 replications is 0.5 %.
    CHECK(roas_rate > 0.02);
    CHECK(roas_rate < 0.10);
    CHECK(cpa_rate > 0.02);
    CHECK(cpa_rate < 0.10);
    // Two 95 % intervals that do not overlap are a much stricter test (about 0.6 %): why the
    // report gives the difference's interval.
    CHECK(disjoint_rate < 0.02);
  }

  SECTION("A/B: one arm converts 1.5 times as often for its spend") {
    const arm_draw better{.spend_usd = 50, .conversions_per_usd = 3};
    const arm_draw worse{.spend_usd = 50, .conversions_per_usd = 2};
    int found = 0, wrong_way = 0;
    for (int i = 0; i < replications; ++i) {
      bool overlap = true;
      const arm_comparison c = replicate(better, worse, rng, overlap);
      REQUIRE(c.roas.has_value());
      if (c.roas->differs()) {
        ++found;
        if (c.roas->estimate < 0) ++wrong_way;
      }
    }
    const double power = found / double(replications);
    INFO("found " << found << " of " << replications << ", the wrong way " << wrong_way);
    CHECK(power > 0.7);
    CHECK(wrong_way == 0);
  }
}

TEST_CASE("arms are compared within an experiment and a group, rendered in table and JSON",
          "[report][unit]") {
  report_builder builder({.grouping = *parse_group_by("campaign,arm")});
  read_stats stats;
  std::mt19937_64 rng(7);
  add_arm(builder, stats, "e/a", {.spend_usd = 10, .conversions_per_usd = 1}, rng);
  add_arm(builder, stats, "e/b", {.spend_usd = 10, .conversions_per_usd = 1}, rng);
  add_arm(builder, stats, "other/x", {.spend_usd = 10, .conversions_per_usd = 1}, rng);
  add_arm(builder, stats, "", {.spend_usd = 10, .conversions_per_usd = 1}, rng);
  const auto report = builder.finish(stats);
  REQUIRE(report.arm_differences.size() == 1);  // "other" has one arm; no arm is no experiment
  const arm_comparison& c = report.arm_differences[0];
  CHECK(c.experiment == "e");
  CHECK(c.campaign_id == "c");
  CHECK(c.arm_a == "e/a");
  CHECK(c.arm_b == "e/b");
  REQUIRE(c.roas.has_value());
  campaign_summary a, b;
  for (const auto& row : report.days) {
    if (row.arm == "e/a") a = row;
    if (row.arm == "e/b") b = row;
  }
  const auto direct = roas_difference(a, b);
  REQUIRE(direct.has_value());
  CHECK(c.roas->estimate == Approx(*a.return_on_ad_spend() - *b.return_on_ad_spend()));
  CHECK(c.roas->low == Approx(direct->low));
  CHECK(c.roas->low < c.roas->estimate);
  CHECK(c.roas->high > c.roas->estimate);
  CHECK_THAT(render(report, report_format::table), Catch::Contains("arm differences"));
  const std::string json = render(report, report_format::json);
  CHECK_THAT(json, Catch::Contains("\"arm_differences\":[\n  {\"experiment\":\"e\""));
  CHECK_THAT(json, Catch::Contains("\"roas_difference_ci95\":["));

  SECTION("without spend or conversions there is nothing to compare") {
    campaign_summary none;
    CHECK_FALSE(roas_difference(none, b).has_value());
    CHECK_FALSE(cpa_difference(none, b).has_value());
  }
  SECTION("not grouped by arm: no comparisons") {
    report_builder plain({.grouping = *parse_group_by("campaign")});
    read_stats s;
    add_arm(plain, s, "e/a", {.spend_usd = 10, .conversions_per_usd = 1}, rng);
    CHECK(plain.finish(s).arm_differences.empty());
  }
}
