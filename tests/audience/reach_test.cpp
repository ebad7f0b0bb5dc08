#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bidder/audience/reach_sample.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/expression/text.hpp"
#include "tests/support/temp_dir.hpp"

namespace bidder::audience {
namespace {

constexpr unix_seconds now = 1'750'000'000;
constexpr unix_seconds day = 86'400;

// A seeded population: key -> segment -> days since last seen.
using population = std::map<std::string, std::map<std::string, int>>;

population make_population(std::size_t users, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
  population out;
  char key[32];
  for (std::size_t i = 0; i < users; ++i) {
    // Two id types, as a store holds them (a user under two keys counts twice).
    std::snprintf(key, sizeof key, "%s:%08zu", i % 3 == 0 ? "ifa" : "user", i);
    auto& segments = out[key];
    for (auto [name, p] : {std::pair{"car", 0.3},
                           {"affluent", 0.2},
                           {"3p:acme:123", 0.1},
                           {"buyer", 0.15},
                           {"rare", 0.002}}) {
      if (chance(p)) segments[name] = static_cast<int>(rng() % 60);
    }
  }
  return out;
}

// The expressions the tests count, with a plain reading of each as the reference.
struct counted {
  std::string text;
  std::function<bool(const std::map<std::string, int>&)> test;
};
std::vector<counted> expressions() {
  auto has = [](const std::map<std::string, int>& s, const char* name, int within = 0) {
    auto it = s.find(name);
    return it != s.end() && (within == 0 || it->second <= within);
  };
  return {
      {"car", [=](const auto& s) { return has(s, "car"); }},
      {"all(car@10, any(affluent, 3p:acme:123), not(buyer))",
       [=](const auto& s) {
         return has(s, "car", 10) && (has(s, "affluent") || has(s, "3p:acme:123")) &&
                !has(s, "buyer");
       }},
      {"any(all(car, affluent@30), not(any(buyer, car)))",
       [=](const auto& s) {
         return (has(s, "car") && has(s, "affluent", 30)) || !(has(s, "buyer") || has(s, "car"));
       }},
      {"all(rare, car)", [=](const auto& s) { return has(s, "rare") && has(s, "car"); }},
      {"never-pushed", [](const auto&) { return false; }},
  };
}

std::uint64_t expected(const population& users, const counted& c) {
  std::uint64_t n = 0;
  // Keys without a membership are not stored (or no longer count): they are no one's reach.
  for (const auto& [key, segments] : users) n += !segments.empty() && c.test(segments) ? 1 : 0;
  return n;
}

// Pushes `users` as one replace per segment.
void push(segment_store& store, const population& users) {
  std::map<std::string, std::vector<member>> by_segment;
  for (const auto& [key, segments] : users) {
    for (const auto& [name, days] : segments) {
      by_segment[name].push_back({key, now - days * day});
    }
  }
  for (const auto& [name, members] : by_segment) {
    if (name.find(':') != std::string::npos) {
      // Third-party names are not push names (they arrive another way): write them per user.
      continue;
    }
    auto r = store.update_segment(name, update_mode::replace, 0, members, now);
    INFO((r ? "" : r.error().message));
    REQUIRE(r.has_value());
  }
  for (const auto& [key, segments] : users) {
    if (!segments.contains("3p:acme:123")) continue;
    std::vector<membership> all;
    for (const auto& [name, days] : segments) all.push_back({name, now - days * day, 0});
    REQUIRE(store.write_user(key, all).has_value());
  }
}

std::unique_ptr<rocksdb_store> open_store(const std::string& path, int rate_log2) {
  auto opened = rocksdb_store::open(
      {.path = path, .reach_sample_rate_log2 = rate_log2, .reach_sample_seed = 42});
  INFO((opened ? std::string() : opened.error().message));
  REQUIRE(opened);
  return std::move(*opened);
}

reach_estimate estimate(segment_store& store, std::string_view text, estimate_method method) {
  auto g = expression::parse_text(text);
  REQUIRE(g.has_value());
  auto r = store.estimate_reach(*g, method, now);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  return *r;
}

}  // namespace

TEST_CASE("the reach interval covers the true count 95% of the time", "[audience][unit]") {
  CHECK(reach_interval(7, 1).low == 7);
  CHECK(reach_interval(7, 1).high == 7);
  CHECK(reach_interval(0, 64).low == 0);
  CHECK(reach_interval(0, 64).high == 243);  // ~3.84 * 63, rounded up
  std::mt19937_64 rng(7);
  for (std::uint64_t scale : {16u, 64u}) {
    for (std::uint64_t truth : {50u, 2'000u, 100'000u}) {
      std::binomial_distribution<std::uint64_t> draw(truth, 1.0 / static_cast<double>(scale));
      int covered = 0;
      constexpr int trials = 4000;
      for (int i = 0; i < trials; ++i) {
        const reach_bounds b = reach_interval(draw(rng), scale);
        covered += b.low <= truth && truth <= b.high ? 1 : 0;
      }
      INFO("scale " << scale << ", true count " << truth);
      CHECK(covered > trials * 0.93);
      CHECK(covered < trials * 0.975);
    }
  }
}

TEST_CASE("small stores are counted exactly", "[audience][unit]") {
  bidder::test::temp_dir dir("bidder-reach-test");
  const population users = make_population(3'000, 1);
  auto store = open_store((dir.path / "db").string(), 6);
  push(*store, users);
  for (const counted& c : expressions()) {
    INFO(c.text);
    const reach_estimate e = estimate(*store, c.text, estimate_method::automatic);
    CHECK(e.exact);
    CHECK(e.matched == expected(users, c));
    CHECK(e.low == e.matched);
    CHECK(e.high == e.matched);
    CHECK(e.stored_keys == expected(users, {"", [](const auto&) { return true; }}));
  }
}

TEST_CASE("the sample follows pushes, writes and forgets, and is rebuilt at open",
          "[audience][unit]") {
  // Sampling every key (rate 2^0) makes the sample's count exact: it must equal the scan's.
  bidder::test::temp_dir dir("bidder-reach-test");
  const std::string path = (dir.path / "db").string();
  population users = make_population(2'000, 2);
  auto check_agrees = [&](segment_store& store) {
    for (const counted& c : expressions()) {
      INFO(c.text);
      const auto sampled = estimate(store, c.text, estimate_method::sample);
      const auto exact = estimate(store, c.text, estimate_method::exact);
      CHECK(sampled.matched == exact.matched);
      CHECK(exact.matched == expected(users, c));
    }
  };
  {
    auto store = open_store(path, 0);
    push(*store, users);
    check_agrees(*store);
    // add, remove, replace, forget
    std::vector<member> added{{"user:new-1", now - day}, {"user:new-2", now - 20 * day}};
    REQUIRE(store->update_segment("car", update_mode::add, 0, added, now).has_value());
    users["user:new-1"]["car"] = 1;
    users["user:new-2"]["car"] = 20;
    std::vector<member> removed{{"user:00000001", now}};
    REQUIRE(store->update_segment("buyer", update_mode::remove, 0, removed, now).has_value());
    users["user:00000001"].erase("buyer");
    std::vector<member> affluent;
    for (const auto& [key, segments] : users) {
      if (key.ends_with("7")) affluent.push_back({key, now - 2 * day});
    }
    REQUIRE(store->update_segment("affluent", update_mode::replace, 0, affluent, now).has_value());
    for (auto& [key, segments] : users) {
      if (key.ends_with("7")) {
        segments["affluent"] = 2;
      } else {
        segments.erase("affluent");
      }
    }
    REQUIRE(store->forget_user("user:00000002").has_value());
    users.erase("user:00000002");
    for (auto it = users.begin(); it != users.end();) {
      it = it->second.empty() ? users.erase(it) : std::next(it);  // keyless users are not stored
    }
    check_agrees(*store);
  }
  auto reopened = open_store(path, 0);
  check_agrees(*reopened);
}

TEST_CASE("large stores are estimated from the sample within the stated error",
          "[audience][unit]") {
  bidder::test::temp_dir dir("bidder-reach-test");
  // ~128,000 stored keys, 1/16 of them (~8,000) sampled. (Automatic counts stores this small
  // exactly; the sample is asked for by name so that a unit test need not build 250,000+.)
  const population users = make_population(300'000, 3);
  auto store = open_store((dir.path / "db").string(), 4);
  push(*store, users);
  const std::uint64_t stored = expected(users, {"", [](const auto&) { return true; }});
  CHECK(estimate(*store, "car", estimate_method::automatic).exact);
  for (const counted& c : expressions()) {
    const reach_estimate e = estimate(*store, c.text, estimate_method::sample);
    const std::uint64_t truth = expected(users, c);
    INFO(c.text << ": true " << truth << ", estimate " << e.matched << " [" << e.low << ", "
                << e.high << "] from " << e.sampled_matched << " of " << e.sampled_keys);
    CHECK_FALSE(e.exact);
    CHECK(e.scale == 16);
    CHECK(e.matched == e.sampled_matched * 16);
    CHECK(e.low <= truth);
    CHECK(truth <= e.high);
    // The stated error: about 1.96 * sqrt(truth * 16) keys.
    CHECK(std::abs(static_cast<double>(e.matched) - static_cast<double>(truth)) <=
          3 * std::sqrt(static_cast<double>(std::max<std::uint64_t>(truth, 1)) * 16) + 16);
    CHECK(std::abs(static_cast<double>(e.stored_keys) - static_cast<double>(stored)) <
          static_cast<double>(stored) * 0.05);
  }
}

TEST_CASE("estimates refuse an expression that fails its checks", "[audience][unit]") {
  bidder::test::temp_dir dir("bidder-reach-test");
  auto store = open_store((dir.path / "db").string(), 6);
  expression::group g;
  g.all_of.push_back({.segment = "bad name"});
  auto r = store->estimate_reach(g, estimate_method::automatic, now);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::invalid_field);
  auto no_sample = open_store((dir.path / "db2").string(), -1);
  auto sampled =
      no_sample->estimate_reach(*expression::parse_text("a"), estimate_method::sample, now);
  REQUIRE_FALSE(sampled.has_value());
  CHECK(sampled.error().code == errc::unsupported);
}

}  // namespace bidder::audience
