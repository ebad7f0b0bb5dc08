#include "bidder/core/flat_string_map.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using bidder::flat_string_map;

TEST_CASE("a flat string map finds what was inserted and nothing else", "[core][unit]") {
  flat_string_map<int> m;
  CHECK(m.empty());
  CHECK(m.find("a") == nullptr);  // an empty map has no slots yet
  m["example.com"] = 1;
  m["www.a-rather-long-domain-name.example.com"] = 2;  // past std::string's inline size
  m[""] = 3;                                           // the empty string is a key too
  m["example.com"] += 10;                              // the same key: the same value
  CHECK(m.size() == 3);
  REQUIRE(m.find("example.com") != nullptr);
  CHECK(*m.find("example.com") == 11);
  REQUIRE(m.find("www.a-rather-long-domain-name.example.com") != nullptr);
  CHECK(*m.find("www.a-rather-long-domain-name.example.com") == 2);
  REQUIRE(m.find("") != nullptr);
  CHECK(*m.find("") == 3);
  CHECK(m.find("example.co") == nullptr);  // a prefix
  CHECK(m.find("example.com.") == nullptr);
  CHECK(m.find("EXAMPLE.COM") == nullptr);  // keys are bytes, compared exactly
}

TEST_CASE("a flat string map agrees with std::unordered_map as it grows", "[core][unit]") {
  std::mt19937_64 rng(7);
  auto random_key = [&] {
    std::string key(rng() % 40, ' ');
    for (char& c : key) c = static_cast<char>('a' + rng() % 4);  // short alphabet: near misses
    return key;
  };
  flat_string_map<std::vector<std::uint32_t>> m;
  std::unordered_map<std::string, std::vector<std::uint32_t>> oracle;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const std::string key = random_key();
    m[key].push_back(i);
    oracle[key].push_back(i);
  }
  CHECK(m.size() == oracle.size());
  for (const auto& [key, values] : oracle) {
    const auto* found = m.find(key);
    REQUIRE(found != nullptr);
    CHECK(*found == values);
  }
  int absent = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string key = random_key();
    const bool in_oracle = oracle.count(key) != 0;
    CHECK((m.find(key) != nullptr) == in_oracle);
    absent += in_oracle ? 0 : 1;
  }
  CHECK(absent > 1000);  // the look-ups did test misses
  std::size_t visited = 0;
  std::uint32_t previous_first = 0;
  bool in_order = true;
  m.for_each([&](std::string_view key, const std::vector<std::uint32_t>& values) {
    CHECK(oracle.at(std::string(key)) == values);
    if (visited > 0 && values.front() < previous_first) in_order = false;
    previous_first = values.front();
    ++visited;
  });
  CHECK(visited == oracle.size());
  CHECK(in_order);  // insertion order: each key's first value grows
}
