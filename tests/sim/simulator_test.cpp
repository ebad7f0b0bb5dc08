// The simulator with in-process bidders and deliberately broken HTTP bidders: determinism, the
// oracle against the fixed-price baseline, and hostile answers counted, never fatal.
#include "bench/sim/simulator.hpp"

#include <catch2/catch.hpp>

#include "bench/sim/bidders.hpp"
#include "tests/bench/test_server.hpp"

using namespace bidder::sim;
using bidder::bench::test::test_server;
using bidder::bench::test::test_server_options;

namespace {

scenario small(std::uint64_t seed, std::uint32_t days, std::uint32_t per_day) {
  scenario s = default_scenario();
  s.seed = seed;
  s.users = 3000;
  s.days = days;
  s.requests_per_day = per_day;
  return s;
}

run_result run_http(const scenario& s, const population& users, std::uint16_t port,
                    std::chrono::milliseconds timeout) {
  std::string error;
  http_bidder_options o;
  o.bid_url = "http://127.0.0.1:" + std::to_string(port) + "/bid";
  o.admin_url = "http://127.0.0.1:" + std::to_string(port);
  o.timeout = timeout;
  auto b = http_bidder::make(s, o, error);
  REQUIRE(b);
  simulate_options options;
  options.wall_clock = [] { return std::int64_t{1'796'500'000}; };
  return simulate(s, users, *b, options);
}

test_server_options answering(std::vector<unsigned> statuses) {
  test_server_options o;
  o.statuses = std::move(statuses);
  return o;
}

}  // namespace

TEST_CASE("the same seed gives the same results, another seed other ones", "[sim][unit]") {
  const scenario s = small(7, 3, 4000);
  const population users = make_population(s);
  oracle_bidder oracle(s, users);
  fixed_bidder fixed(s, users, 1.5);
  const run_result a = simulate(s, users, oracle, {});
  const run_result b = simulate(s, users, oracle, {});
  CHECK(a.same_outcome(b));
  CHECK(a.total.wins > 0);
  CHECK(a.total.conversions > 0);
  CHECK(simulate(s, users, fixed, {}).same_outcome(simulate(s, users, fixed, {})));

  const scenario other = small(8, 3, 4000);
  const population other_users = make_population(other);
  oracle_bidder other_oracle(other, other_users);
  CHECK_FALSE(a.same_outcome(simulate(other, other_users, other_oracle, {})));

  SECTION("per-day and per-campaign figures add up to the total") {
    tally days;
    for (const tally& t : a.days) days.add(t);
    tally campaigns;
    for (const tally& t : a.campaign_totals) campaigns.add(t);
    CHECK(days.wins == a.total.wins);
    CHECK(campaigns.wins == a.total.wins);
    CHECK(campaigns.spend == Approx(a.total.spend));
    CHECK(campaigns.conversions == a.total.conversions);
    CHECK(a.requests == 12'000);
  }
}

TEST_CASE("the oracle beats the fixed-price bidder on surplus", "[sim][unit]") {
  // Held out: the scenario was calibrated on seeds 1 and 2, never on this one.
  const scenario s = small(90'210, 4, 10'000);
  const population users = make_population(s);
  oracle_bidder oracle(s, users);
  fixed_bidder fixed(s, users, 1.5);
  const run_result o = simulate(s, users, oracle, {});
  const run_result f = simulate(s, users, fixed, {});
  INFO("oracle surplus " << o.total.surplus() << ", fixed " << f.total.surplus());
  CHECK(o.total.surplus() > f.total.surplus());
  CHECK(o.total.expected_value - o.total.spend > f.total.expected_value - f.total.spend);
  // Truthful in second price, shaded in first price: never an expected loss per impression.
  CHECK(o.total.expected_value > o.total.spend);
}

TEST_CASE("a bidder that answers 5xx, garbage or nothing is counted, not fatal",
          "[sim][integration]") {
  const scenario s = small(3, 1, 30);
  const population users = make_population(s);
  SECTION("5xx and 4xx") {
    test_server server(answering({500, 503, 400}));
    const run_result r = run_http(s, users, server.port(), std::chrono::milliseconds(2000));
    CHECK(r.requests == 30);
    CHECK(r.live.bid_errors.at("5xx") == 20);
    CHECK(r.live.bid_errors.at("4xx") == 10);
    CHECK(r.total.bids == 0);
  }
  SECTION("a 200 that is no BidResponse, and odd statuses") {
    test_server server(answering({200, 302, 204}));
    const run_result r = run_http(s, users, server.port(), std::chrono::milliseconds(2000));
    CHECK(r.live.bid_errors.at("bad_body") == 10);
    CHECK(r.live.bid_errors.at("other_status") == 10);
    CHECK(r.live.no_bids == 10);
    CHECK_FALSE(r.live.samples.empty());
  }
  SECTION("no answer: timeouts") {
    test_server_options o;
    o.never_answer = true;
    test_server server(o);
    const scenario tiny = small(3, 1, 3);
    const run_result r = run_http(tiny, users, server.port(), std::chrono::milliseconds(50));
    CHECK(r.live.bid_errors.at("timeout") == 3);
  }
  SECTION("nothing listening") {
    const run_result r =
        run_http(s, users, bidder::bench::test::closed_port(), std::chrono::milliseconds(1000));
    CHECK(r.live.bid_errors.at("connect") == 30);
  }
  SECTION("a server that closes each connection after one answer") {
    test_server_options o;
    o.close_after_answer = true;
    test_server server(o);
    const run_result r = run_http(s, users, server.port(), std::chrono::milliseconds(2000));
    CHECK(r.live.no_bids == 30);
  }
}
