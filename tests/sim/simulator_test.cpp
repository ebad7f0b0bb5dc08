// The simulator with in-process bidders and deliberately broken HTTP bidders: determinism, the
// oracle against the fixed-price baseline, and hostile answers counted, never fatal.
#include "bench/sim/simulator.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <sstream>

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
    tally exchanges;
    for (const tally& t : a.exchange_totals) exchanges.add(t);
    CHECK(exchanges.requests == a.total.requests);
    CHECK(exchanges.wins == a.total.wins);
    CHECK(exchanges.conversions == a.total.conversions);
    CHECK(exchanges.value == Approx(a.total.value));
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

namespace {

// A live bidder in process: bids high on every request with URLs carrying the exchange macros,
// records what bidsim sends, and answers conversions as POST /admin/conversions does.
class stub_bidder final : public sim_bidder {
 public:
  std::string name() const override { return "bidder"; }
  bool live() const override { return true; }
  bid_answer bid(const opportunity& o, const std::string& request_json) override {
    requests.push_back(request_json);
    bid_answer a;
    a.offer.emplace();
    a.offer->campaign = 3;                                // run-of-network: everyone
    a.offer->price_cpm = o.index % 2 == 0 ? 50.0 : 0.01;  // wins, then loses to the floor
    a.offer->bid_id = std::to_string(o.index);
    a.offer->bid_id.insert(a.offer->bid_id.begin(), 'b');
    const std::string q = "?auction=${AUCTION_ID}&imp=${AUCTION_IMP_ID}&bid=" + a.offer->bid_id;
    a.offer->nurl = "http://elsewhere:9/notice/win" + q + "&price=${AUCTION_PRICE}";
    a.offer->burl = "http://elsewhere:9/notice/bill" + q + "&price=${AUCTION_PRICE}";
    a.offer->lurl =
        "http://elsewhere:9/notice/loss" + q + "&reason=${AUCTION_LOSS}&min=${AUCTION_MIN_TO_WIN}";
    a.offer->click_url = "http://elsewhere:9/click" + q;
    return a;
  }
  live_status get(const std::string& url) override {
    gets.push_back(url);
    live_status st;
    st.sent = true;
    st.status = url.find("/click") != std::string::npos ? 302 : 204;
    if (st.status == 302) st.location = "https://shop.example/?src=bidsim&bclid=clk-1";
    return st;
  }
  live_status post_conversions(const std::string& lines) override {
    posts.push_back(lines);
    std::size_t n = 0;
    for (char c : lines) n += c == '\n';
    live_status st;
    st.sent = true;
    st.status = answer_404 ? 404 : 200;
    st.body = R"({"accepted":)" + std::to_string(n) +
              R"(,"unmatched":0,"duplicate":0,"refused":0,"refused_lines":[]})";
    return st;
  }
  bool answer_404 = false;
  std::vector<std::string> requests, gets, posts;
};

}  // namespace

TEST_CASE("a live bidder gets requests, notices, clicks and conversions", "[sim][unit]") {
  scenario s = small(11, 2, 10000);
  const population users = make_population(s);
  simulate_options options;
  options.wall_clock = [] { return std::int64_t{1'796'500'000}; };
  stub_bidder stub;
  const run_result r = simulate(s, users, stub, options);
  REQUIRE(r.total.wins > 0);
  REQUIRE(r.total.clicks > 0);
  REQUIRE(r.total.conversions > 0);

  // Every request is OpenRTB JSON with the user's buyeruid and the simulated hour's offset.
  REQUIRE(stub.requests.size() == 20000);
  const auto req = boost::json::parse(stub.requests[5]).as_object();
  CHECK(req.at("tmax").as_int64() == 100);
  CHECK(req.at("user").at("buyeruid").as_string() == users[make_opportunity(s, users, 5).user].id);
  CHECK(req.at("device").at("geo").at("utcoffset").as_int64() ==
        offset_for_local_hour(1'796'500'000, make_opportunity(s, users, 5).hour));

  std::size_t wins = 0, bills = 0, losses = 0, clicks = 0;
  for (const std::string& url : stub.gets) {
    CHECK(url.find("${") == std::string::npos);  // every macro substituted
    wins += url.find("/notice/win?") != std::string::npos;
    bills += url.find("/notice/bill?") != std::string::npos;
    losses += url.find("/notice/loss?") != std::string::npos;
    clicks += url.find("/click?") != std::string::npos;
  }
  CHECK(wins == r.total.wins);
  CHECK(bills == r.total.wins);
  CHECK(losses == r.total.bids - r.total.wins);
  CHECK(clicks == r.total.clicks);
  CHECK(r.live.notices.at("win 204") == r.total.wins);
  CHECK(r.live.clicks_redirected == r.total.clicks);
  CHECK(r.live.bids_below_floor == 10000);  // the 0.01 bids

  // Conversions: JSON lines of the documented format, with the injected wall-clock time.
  std::size_t lines = 0;
  for (const std::string& body : stub.posts) {
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      const auto c = boost::json::parse(line).as_object();
      CHECK(c.at("time").as_int64() == 1'796'500'000);
      CHECK(c.at("currency").as_string() == "USD");
      CHECK(c.at("campaign_id").as_string() == "run-of-network");
      CHECK(c.at("bid_id").as_string().starts_with("b"));
      CHECK(c.at("click_id").as_string() == "clk-1");  // from the landing page's URL
      CHECK(c.at("user_ids").as_array().at(0).as_string().starts_with("buyeruid:sim-u"));
      CHECK(c.at("conversion_id").as_string().size() > 0);
      ++lines;
    }
  }
  CHECK(lines == r.total.conversions);
  CHECK(r.live.conversions_accepted == r.total.conversions);
  CHECK(r.live.conversions_not_sent == 0);

  SECTION("the same seed against the same stub: the same outcome") {
    stub_bidder again;
    CHECK(simulate(s, users, again, options).same_outcome(r));
    CHECK(again.requests == stub.requests);
  }
  SECTION("an endpoint that is not there yet (404): counted as not sent") {
    stub_bidder old;
    old.answer_404 = true;
    const run_result o = simulate(s, users, old, options);
    CHECK(o.live.conversions_not_sent == o.total.conversions);
    CHECK(o.live.conversions_accepted == 0);
    CHECK(o.same_outcome(r));
  }
}
