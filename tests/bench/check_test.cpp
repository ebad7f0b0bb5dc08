// Tests of bench/load/check (the --check parser and evaluation), bench/load/units and the
// ramp's verdict per step (report.hpp, judge_step).
#include "bench/load/check.hpp"

#include <catch2/catch.hpp>

#include "bench/load/report.hpp"
#include "bench/load/units.hpp"

using namespace bidder::bench;

TEST_CASE("a check spec parses into metric, operator and bound", "[bench][unit]") {
  auto checks = parse_checks("p99<5ms, miss=0,rps>=40k ,p99.9<=1.5ms,nobid_share<50%,5xx==0");
  REQUIRE(checks.has_value());
  REQUIRE(checks->size() == 6);
  CHECK((*checks)[0].metric == "p99");
  CHECK((*checks)[0].op == check_op::less);
  CHECK((*checks)[0].bound == 5'000'000);
  CHECK((*checks)[1].metric == "miss");
  CHECK((*checks)[1].op == check_op::equal);
  CHECK((*checks)[1].bound == 0);
  CHECK((*checks)[2].metric == "rps");
  CHECK((*checks)[2].op == check_op::greater_equal);
  CHECK((*checks)[2].bound == 40'000);
  CHECK((*checks)[3].metric == "p99.9");
  CHECK((*checks)[3].op == check_op::less_equal);
  CHECK((*checks)[3].bound == 1'500'000);
  CHECK((*checks)[4].bound == Approx(0.5));
  CHECK((*checks)[5].op == check_op::equal);
  SECTION("aliases and other units") {
    auto more = parse_checks("p999<800us,p9999<2s,max!=0ns,slo_rps>50000/s,bid_share>0.25");
    REQUIRE(more.has_value());
    CHECK((*more)[0].metric == "p99.9");
    CHECK((*more)[0].bound == 800'000);
    CHECK((*more)[1].metric == "p99.99");
    CHECK((*more)[1].bound == 2e9);
    CHECK((*more)[2].op == check_op::not_equal);
    CHECK((*more)[3].bound == 50'000);
    CHECK((*more)[4].bound == Approx(0.25));
  }
}

TEST_CASE("bad check specs are refused with the term and the reason", "[bench][unit]") {
  struct bad_case {
    const char* spec;
    const char* reason;
  };
  const auto c = GENERATE(values<bad_case>({
      {"p99<5", "needs a unit"},
      {"p99<5xs", "needs a unit"},
      {"p98<5ms", "unknown metric 'p98'"},
      {"p99", "expected <metric><op><value>"},
      {"p99<", "missing value"},
      {"miss=0.5", "whole number"},
      {"miss=-1", "whole number"},
      {"nobid_share<1.5", "share"},
      {"nobid_share<150%", "share"},
      {"rps>fast", "rate"},
      {"p99<5ms,,miss=0", "empty term"},
      {"", "empty spec"},
      {"p99=<5ms", "needs a unit"},
  }));
  auto r = parse_checks(c.spec);
  INFO(c.spec);
  REQUIRE(!r);
  INFO(r.error().message);
  CHECK(r.error().message.find(c.reason) != std::string::npos);
  CHECK(r.error().message.find("--check") != std::string::npos);
}

TEST_CASE("checks pass and fail against measured values", "[bench][unit]") {
  auto checks = parse_checks("p99<5ms,miss=0,rps>=40k,slo_rps>0,full_rps>=30k");
  REQUIRE(checks.has_value());
  metric_values v{{"p99", 4'999'999}, {"miss", 0}, {"rps", 39'999.5}};
  const auto outcomes = evaluate_checks(*checks, v);
  REQUIRE(outcomes.size() == 5);
  CHECK(outcomes[0].passed);
  CHECK(outcomes[1].passed);
  CHECK(!outcomes[2].passed);
  CHECK(!outcomes[3].known);  // no ramp, no slo_rps
  CHECK(!outcomes[3].passed);
  CHECK(!outcomes[4].known);
  v["full_rps"] = 30'000;  // as a ramp sets it
  CHECK(evaluate_checks(*checks, v)[4].passed);
  v["p99"] = 5'000'000;
  CHECK(!evaluate_checks(*checks, v)[0].passed);  // strict <
}

TEST_CASE("the metrics of a run are all named", "[bench][unit]") {
  load_result r;
  r.counts.sent = 10;
  r.counts.bids = 4;
  r.counts.no_bids = 5;
  r.counts.timeouts = 1;
  r.counts.deadline_misses = 2;
  r.latency.record(std::chrono::milliseconds(3));
  r.achieved_rate = 1234;
  const metric_values v = metrics_of(r);
  CHECK(v.at("bids") == 4);
  CHECK(v.at("nobids") == 5);
  CHECK(v.at("timeouts") == 1);
  CHECK(v.at("miss") == 2);
  CHECK(v.at("rps") == 1234);
  CHECK(v.at("bid_share") == Approx(4.0 / 9.0));
  CHECK(v.at("error_share") == Approx(0.1));
  CHECK(v.at("p99") >= 3e6);
  CHECK(v.at("p99") <= 3.03e6);
  // Every metric the parser accepts, except the ramp's, is provided.
  for (const char* name :
       {"p50",  "p90",    "p99", "p99.9",     "p99.99",      "max",         "mean",      "sent",
        "bids", "nobids", "4xx", "5xx",       "other",       "errors",      "timeouts",  "miss",
        "late", "unsent", "rps", "bid_share", "nobid_share", "error_share", "miss_share"}) {
    INFO(name);
    CHECK(v.count(name) == 1);
    const std::string_view n(name);
    const bool latency = n.front() == 'p' || n == "max" || n == "mean";
    const std::string kind_of = latency ? "<1s" : ">=0";
    CHECK(parse_checks(std::string(name) + kind_of).has_value());
  }
}

TEST_CASE("durations and scaled numbers parse", "[bench][unit]") {
  using std::chrono::nanoseconds;
  CHECK(parse_duration("10s") == nanoseconds(10'000'000'000));
  CHECK(parse_duration("1.5s") == nanoseconds(1'500'000'000));
  CHECK(parse_duration("250us") == nanoseconds(250'000));
  CHECK(parse_duration("5ms") == nanoseconds(5'000'000));
  CHECK(parse_duration("2m") == nanoseconds(120'000'000'000));
  CHECK(parse_duration("3") == nanoseconds(3'000'000'000));
  CHECK(!parse_duration("ten seconds"));
  CHECK(!parse_duration("-1s"));
  CHECK(!parse_duration("5 parsecs"));
  CHECK(parse_scaled("50k") == 50'000);
  CHECK(parse_scaled("2M") == 2'000'000);
  CHECK(!parse_scaled("2G"));
  CHECK(format_duration(nanoseconds(4'560'000)) == "4.56 ms");
  CHECK(format_duration(nanoseconds(850)) == "850 ns");
  CHECK(format_count(1234567) == "1,234,567");
  CHECK(format_rate(49'999.6) == "50,000/s");
}

TEST_CASE("latency bounds fail when nothing was measured", "[bench][unit]") {
  load_result r;  // e.g. every request unsent, or every connection refused
  r.counts.sent = 10;
  r.counts.connection_errors = 10;
  const auto outcomes = evaluate_checks(*parse_checks("p99<5ms,max<1s,errors>=0"), metrics_of(r));
  REQUIRE(outcomes.size() == 3);
  CHECK_FALSE(outcomes[0].known);
  CHECK_FALSE(outcomes[1].known);
  CHECK(outcomes[2].known);
  CHECK(outcomes[2].passed);
}

TEST_CASE("a ramp step holds only without errors, refusals or odd statuses", "[bench][unit]") {
  using namespace std::chrono_literals;
  auto step_with = [](auto&& set) {
    ramp_step step{1000, {}, false, {}};
    step.result.counts.sent = 100;
    step.result.counts.no_bids = 100;
    set(step.result.counts);
    for (int i = 0; i < 100; ++i) step.result.latency.record(1ms);
    return step;
  };
  auto verdict = [](ramp_step step, double allowed = 0.0) {
    judge_step(step, 5ms, allowed);
    return step.held ? std::string("held") : step.verdict;
  };
  CHECK(verdict(step_with([](load_counts&) {})) == "held");
  CHECK(verdict(step_with([](load_counts& n) { n.server_errors = 1; })) == "1 5xx");
  CHECK(verdict(step_with([](load_counts& n) { n.other_status = 2; })) == "2 other statuses");
  // 4xx: none allowed for generated traffic; replayed files meant to be refused (*DEVIATION*)
  // allow their share plus a point; an allowance of 1 takes any share.
  const auto refused = [](load_counts& n) {
    n.no_bids = 95;
    n.client_errors = 5;
  };
  CHECK(verdict(step_with(refused)) == "5 4xx");
  CHECK(verdict(step_with(refused), 0.05) == "held");
  CHECK(verdict(step_with(refused), 0.04 + 0.005) == "5 4xx");
  CHECK(verdict(step_with(refused), 1.0) == "held");
  CHECK(client_error_share(step_with(refused).result.counts) == Approx(0.05));
  // And the SLO.
  auto slow = step_with([](load_counts&) {});
  for (int i = 0; i < 10; ++i) slow.result.latency.record(20ms);
  CHECK_THAT(verdict(slow), Catch::StartsWith("p99 "));
}
