#include "bidder/shading/shader.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/shading/market.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bidder::shading;
using bidder::unix_seconds;

namespace {

constexpr unix_seconds start_s = 1'750'000'000;

params learned_params() {
  params p;
  p.mode = mode::learned;
  p.min_factor = 0.3;
  p.exploration_share = 0.05;
  p.min_observations = 200;
  p.half_life_seconds = 3600;
  // The surplus-maximising price: what most tests here measure (a tolerance has its own test).
  p.surplus_tolerance = 0;
  return p;
}

// Plays `rounds` auctions of the market against `x` in segment 0, recomputing every 500 (one
// simulated second each); returns the expected surplus of the last half of the rounds (and their
// expected wins in `wins`).
double play(bidder::test::synthetic_market& m, book& b, exchange_state& x, const params& p,
            int rounds, unix_seconds& now, double* wins = nullptr) {
  double surplus = 0;
  for (int i = 0; i < rounds; ++i) {
    const double value = m.value();
    const decision d = x.shade(p, 0, value, m.draw());
    const double competing = m.highest_competing_bid();
    const bool won = d.price > competing;
    if (i >= rounds / 2) {
      surplus += m.expected_surplus(value, d.price);
      if (wins != nullptr) *wins += m.win_probability(d.price);
    }
    outcome o{.segment = 0, .arm = d.arm, .value = value, .bid = d.price, .won = won};
    if (won) {
      o.clearing = d.price;
    } else {
      o.min_to_win = competing + 0.01;
    }
    x.observe(o);
    if (i % 500 == 499) b.recompute(++now);
  }
  return surplus;
}

}  // namespace

TEST_CASE("segments: device class by slot size, six fixed", "[shading][unit]") {
  CHECK(segment_of(2, 300, 250) == 1);
  CHECK(segment_of(2, 320, 50) == 0);
  CHECK(segment_of(4, 320, 50) == 2);
  CHECK(segment_of(1, 728, 90) == 2);
  CHECK(segment_of(1, 300, 600) == 3);
  CHECK(segment_of(5, 0, 0) == 5);
  CHECK(segment_of(0, 160, 600) == 5);
  for (int device = -1; device < 10; ++device) CHECK(segment_of(device, 1, 1) < segment_count);
}

TEST_CASE("mode OFF bids the value; cold LEARNED bids it unless exploring", "[shading][unit]") {
  book b;
  params p = learned_params();
  p.mode = mode::off;
  exchange_state& x = b.open("fp", p);
  CHECK(x.shade(p, 0, 2.5, 0).price == 2.5);
  p.mode = mode::learned;
  p.exploration_share = 0;
  const decision d = x.shade(p, 0, 2.5, 12345);
  CHECK(d.price == 2.5);
  CHECK(d.arm == arm_truthful);
  p.exploration_share = 0.5;
  const decision explored = x.shade(p, 0, 2.5, 0x10000000);  // u = 1/16: explores
  CHECK(explored.arm == arm_explore);
  CHECK(explored.price >= 0.3 * 2.5);
  CHECK(explored.price <= 2.5);
}

TEST_CASE("shading never bids above the value nor below min_factor x value", "[shading][unit]") {
  for (mode m : {mode::learned, mode::factor}) {
    bidder::test::synthetic_market market;
    book b;
    params p = learned_params();
    p.mode = m;
    p.min_factor = 0.55;
    p.exploration_share = 0.2;
    exchange_state& x = b.open("fp", p);
    unix_seconds now = start_s;
    play(market, b, x, p, 4000, now);
    for (int i = 0; i < 5000; ++i) {
      const double value = i % 10 == 0 ? market.uniform() * 1e4 : market.value();
      const decision d = x.shade(p, i % segment_count, value, market.draw());
      INFO("value " << value << " price " << d.price);
      CHECK(d.price <= value);
      CHECK(d.price >= p.min_factor * value * (1 - 1e-12));
    }
    CHECK(x.shade(p, 0, 0, 7).price == 0);
    CHECK(x.shade(p, 0, -1, 7).price == -1);
  }
}

TEST_CASE("LEARNED learns the market and beats the FACTOR baseline", "[shading][unit]") {
  const int rounds = 40'000;
  double surplus[2] = {0, 0};
  double oracle = 0;
  for (int k = 0; k < 2; ++k) {
    bidder::test::synthetic_market market;  // the same seed: the same values and competitors
    book b;
    params p = learned_params();
    p.mode = k == 0 ? mode::learned : mode::factor;
    exchange_state& x = b.open("fp", p);
    unix_seconds now = start_s;
    surplus[k] = play(market, b, x, p, rounds, now);
    if (k == 0) CHECK(x.learned(0));
  }
  {
    bidder::test::synthetic_market market;
    for (int i = 0; i < rounds; ++i) {
      const double value = market.value();
      market.draw();
      market.highest_competing_bid();
      if (i >= rounds / 2) oracle += market.expected_surplus(value, market.best_bid(value));
    }
  }
  INFO("learned " << surplus[0] << ", factor " << surplus[1] << ", oracle " << oracle);
  CHECK(surplus[0] > surplus[1]);
  CHECK(surplus[0] >= 0.9 * oracle);
}

TEST_CASE("a surplus tolerance wins more for little surplus on the synthetic market",
          "[shading][unit]") {
  const int rounds = 40'000;
  double surplus[2] = {0, 0}, wins[2] = {0, 0};
  const double tolerance[2] = {0, 0.1};
  for (int k = 0; k < 2; ++k) {
    bidder::test::synthetic_market market;  // the same seed: the same values and competitors
    book b;
    params p = learned_params();
    p.surplus_tolerance = tolerance[k];
    exchange_state& x = b.open("fp", p);
    unix_seconds now = start_s;
    surplus[k] = play(market, b, x, p, rounds, now, &wins[k]);
  }
  INFO("surplus " << surplus[0] << " -> " << surplus[1] << ", wins " << wins[0] << " -> "
                  << wins[1]);
  CHECK(wins[1] > 1.1 * wins[0]);
  CHECK(surplus[1] >= 0.9 * surplus[0]);
  CHECK(surplus[1] < surplus[0]);  // where the values are the truth, it does cost surplus
}

TEST_CASE("outcomes out of range are ignored", "[shading][unit]") {
  book b;
  params p = learned_params();
  p.min_observations = 1;
  exchange_state& x = b.open("fp", p);
  const double nan = std::nan("");
  x.observe({.segment = segment_count, .arm = 0, .value = 2, .bid = 1, .won = true});
  x.observe({.segment = 0, .arm = arm_count, .value = 2, .bid = 1, .won = true});
  x.observe({.segment = 0, .arm = 0, .value = nan, .bid = 1, .won = true});
  x.observe({.segment = 0, .arm = 0, .value = 2, .bid = -1, .won = false});
  x.observe({.segment = 0, .arm = 0, .value = 2, .bid = 1e30, .won = false});
  b.recompute(start_s);
  CHECK_FALSE(x.learned(0));
  // A garbage clearing price or min-to-win still counts the outcome, as a censored one.
  x.observe({.segment = 0, .arm = 0, .value = 2, .bid = 1, .won = true, .clearing = nan});
  x.observe({.segment = 0, .arm = 0, .value = 2, .bid = 1, .won = false, .min_to_win = -5.0});
  b.recompute(start_s + 1);
  CHECK(x.learned(0));
}

TEST_CASE("the notice field round-trips and refuses garbage", "[shading][unit]") {
  std::string text;
  append_notice_field(text, 3, arm_learned, 2.345678);
  CHECK(text == "3.6.2345678");
  const auto f = read_notice_field(text);
  REQUIRE(f);
  CHECK(f->segment == 3);
  CHECK(f->arm == arm_learned);
  CHECK(f->value == Approx(2.345678));
  for (const char* bad : {"", "3", "3.6", "3.6.", ".6.1", "6.0.100", "0.9.100", "0.0.0", "a.b.c",
                          "1.2.3.4", "1.2.-3", "1.2.99999999999999", "1.2.3 "}) {
    INFO(bad);
    CHECK_FALSE(read_notice_field(bad));
  }
}

TEST_CASE("the state survives a restart through its file; a corrupt file is refused",
          "[shading][unit]") {
  bidder::test::temp_dir dir;
  const std::string path = (dir.path / "shading.state").string();
  bidder::test::synthetic_market market;
  auto b = std::make_shared<book>();
  params p = learned_params();
  exchange_state& x = b->open("fp", p);
  unix_seconds now = start_s;
  play(market, *b, x, p, 3000, now);
  REQUIRE(x.learned(0));
  REQUIRE(b->save(path, now));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  book restored;
  exchange_state& y = restored.open("fp", p);
  const auto loaded = restored.load(path, now);
  REQUIRE(loaded);
  CHECK(*loaded);
  CHECK(y.learned(0));
  params exploit = p;
  exploit.exploration_share = 0;
  for (double value : {0.9, 2.0, 4.5}) {
    CHECK(y.shade(exploit, 0, value, 1).price == Approx(x.shade(exploit, 0, value, 1).price));
  }

  SECTION("a missing file: nothing read, no error") {
    book cold;
    const auto r = cold.load((dir.path / "none").string(), now);
    REQUIRE(r);
    CHECK_FALSE(*r);
  }
  SECTION("a file altered, truncated or not ours is refused, and the book stays cold") {
    std::string text;
    {
      std::ifstream in(path);
      std::stringstream s;
      s << in.rdbuf();
      text = s.str();
    }
    std::string altered = text;
    altered[altered.size() / 2] = altered[altered.size() / 2] == '1' ? '2' : '1';
    for (const std::string& bad :
         {altered, text.substr(0, text.size() / 2), std::string("garbage\n"), std::string(),
          std::string("bidder-shading 1\nsaved 5\nend 0000000000000000\n")}) {
      {
        std::ofstream out(path, std::ios::trunc);
        out << bad;
      }
      book cold;
      exchange_state& z = cold.open("fp", p);
      const auto r = cold.load(path, now);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == bidder::errc::invalid_field);
      CHECK(r.error().message.find(path) != std::string::npos);
      CHECK_FALSE(z.learned(0));
    }
  }
}

TEST_CASE("the book keeper recomputes and saves on its own thread", "[shading][unit]") {
  bidder::test::temp_dir dir;
  const std::string path = (dir.path / "shading.state").string();
  auto b = std::make_shared<book>();
  params p = learned_params();
  p.min_observations = 1;
  exchange_state& x = b->open("fp", p);
  x.observe({.segment = 0, .arm = arm_truthful, .value = 2, .bid = 2, .won = true, .clearing = 2});
  {
    book_keeper keeper(b, {.path = path, .period = std::chrono::milliseconds(1)}, nullptr);
    keeper.start();
    for (int i = 0; i < 2000 && !x.learned(0); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(x.learned(0));
  }  // stop() saves
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("bid and notice threads run while the background recomputes (smoke, for TSan)",
          "[shading][unit][concurrency]") {
  auto b = std::make_shared<book>();
  params p = learned_params();
  p.min_observations = 50;
  exchange_state& x = b->open("fp", p);
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      bidder::test::synthetic_market m;
      m.rng.seed(static_cast<std::uint64_t>(t) + 1);
      params mine = p;
      mine.mode = t == 0 ? mode::learned : mode::factor;
      for (int i = 0; i < 20000; ++i) {
        const double value = m.value();
        const decision d =
            x.shade(mine, static_cast<std::size_t>(i) % segment_count, value, m.draw());
        if (d.price > value || d.price < mine.min_factor * value * (1 - 1e-12)) bad = true;
        const double competing = m.highest_competing_bid();
        x.observe({.segment = static_cast<std::size_t>(i) % segment_count,
                   .arm = d.arm,
                   .value = value,
                   .bid = d.price,
                   .won = d.price > competing,
                   .clearing = d.price,
                   .min_to_win = competing + 0.01});
      }
    });
  }
  for (int i = 0; i < 50; ++i) b->recompute(start_s + i);
  for (auto& t : threads) t.join();
  b->recompute(start_s + 60);
  CHECK_FALSE(bad);
  CHECK(x.learned(0));
  CHECK(x.outcome_totals().wins + x.outcome_totals().losses == 40000);
}

TEST_CASE("LEARNED follows a market that moves (decay)", "[shading][unit]") {
  bidder::test::synthetic_market market;
  book b;
  params p = learned_params();
  p.half_life_seconds = 10;  // play() advances one second per 500 auctions
  exchange_state& x = b.open("fp", p);
  unix_seconds now = start_s;
  play(market, b, x, p, 20'000, now);
  params exploit = p;
  exploit.exploration_share = 0;
  const double before = x.shade(exploit, 0, 4.0, 1).price;
  // The competition bids 50 % more: the best bid for a value of 4 rises.
  market.mu += std::log(1.5);
  play(market, b, x, p, 20'000, now);
  const double after = x.shade(exploit, 0, 4.0, 1).price;
  INFO("before " << before << ", after " << after << ", optimal now " << market.best_bid(4.0));
  CHECK(after > before * 1.08);
  CHECK(after == Approx(market.best_bid(4.0)).margin(0.15));
  CHECK(market.expected_surplus(4.0, after) >=
        0.9 * market.expected_surplus(4.0, market.best_bid(4.0)));
}
