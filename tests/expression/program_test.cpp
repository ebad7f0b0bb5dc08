#include "bidder/expression/program.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "bidder/expression/text.hpp"

namespace bidder::expression {

// Catch prints the values of failed checks: results of these need a printer.
inline std::ostream& operator<<(std::ostream& os, const group& g) { return os << to_text(g); }
std::ostream& operator<<(std::ostream& os, const program& p) {
  return os << p.nodes().size() << " nodes";
}
namespace {

constexpr unix_seconds now = 1'800'000'000;
constexpr unix_seconds day = 86'400;

// Segments a..h get ids 0..7 in name order.
segment_id id_of(std::string_view name) { return static_cast<segment_id>(name[0] - 'a'); }

program compiled(std::string_view text) {
  auto g = parse_text(text);
  REQUIRE(g);
  auto p = compile(*g, id_of);
  REQUIRE(p);
  return std::move(*p);
}

// The user's memberships: name -> days since last seen.
std::vector<segment_membership> user(const std::map<char, int>& days_ago) {
  std::vector<segment_membership> out;
  for (auto [name, days] : days_ago) {
    out.push_back({static_cast<segment_id>(name - 'a'), now - days * day});
  }
  return out;
}

bool eval(std::string_view text, const std::map<char, int>& days_ago) {
  return matches(compiled(text), user(days_ago), now);
}

// A straightforward recursive reading of the tree, the reference the flat program must agree
// with.
bool reference(const group& g, const std::vector<segment_membership>& segments);
bool reference(const condition& c, const std::vector<segment_membership>& segments) {
  if (c.nested) return reference(*c.nested, segments);
  for (const auto& m : segments) {
    if (m.segment == id_of(c.segment)) {
      return c.within_days == 0 || now - m.last_seen <= std::int64_t{c.within_days} * day;
    }
  }
  return false;
}
bool reference(const group& g, const std::vector<segment_membership>& segments) {
  for (const auto& c : g.all_of) {
    if (!reference(c, segments)) return false;
  }
  if (!g.any_of.empty()) {
    bool any = false;
    for (const auto& c : g.any_of) any = any || reference(c, segments);
    if (!any) return false;
  }
  for (const auto& c : g.none_of) {
    if (reference(c, segments)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a flat expression compiles to the three loops' shape", "[expression][unit]") {
  const program p = compiled("all(a, b, any(c, d), not(e))");
  const auto nodes = p.nodes();
  REQUIRE(nodes.size() == 8);
  CHECK(nodes[0].kind == node::op::all);
  CHECK(nodes[0].end == 8);
  CHECK(nodes[3].kind == node::op::any);
  CHECK(nodes[3].end == 6);
  CHECK(nodes[6].kind == node::op::none);
  CHECK(nodes[7].segment == id_of("e"));
  CHECK(p.flat());
  CHECK(compiled("not(a, b)").flat());
  CHECK(compiled("all(a, not(b), not(c))").flat());
  CHECK_FALSE(compiled("all(a, any(b, c), any(d, e))").flat());  // two any() are not one list
  CHECK_FALSE(compiled("all(a, any(b, all(c, d)))").flat());
  SECTION("a lone segment is one node") { CHECK(compiled("a@3").nodes().size() == 1); }
  SECTION("any of one is that one") { CHECK(compiled("any(a)").nodes().size() == 1); }
}

TEST_CASE("two-level expressions follow their truth tables", "[expression][unit]") {
  // all(a, any(b, all(c, not(d))))
  const std::string_view text = "all(a, any(b, all(c, not(d))))";
  struct row {
    bool a, b, c, d, expected;
  };
  const row rows[] = {
      {false, true, true, false, false},   {true, false, false, false, false},
      {true, true, false, false, true},    {true, false, true, false, true},
      {true, false, true, true, false},    {true, true, true, true, true},
      {false, false, false, false, false}, {true, false, false, true, false},
  };
  for (const row& r : rows) {
    std::map<char, int> u;
    if (r.a) u['a'] = 1;
    if (r.b) u['b'] = 1;
    if (r.c) u['c'] = 1;
    if (r.d) u['d'] = 1;
    INFO("a=" << r.a << " b=" << r.b << " c=" << r.c << " d=" << r.d);
    CHECK(eval(text, u) == r.expected);
  }
}

TEST_CASE("recency counts inside nested groups", "[expression][unit]") {
  const std::string_view text = "any(all(a@7, b), not(c@2))";
  CHECK(eval(text, {{'a', 3}, {'b', 100}, {'c', 1}}));      // a recent and b
  CHECK_FALSE(eval(text, {{'a', 8}, {'b', 1}, {'c', 1}}));  // a too old, c recent
  CHECK(eval(text, {{'a', 8}, {'b', 1}, {'c', 3}}));        // c too old to count: not(c@2) holds
  CHECK(eval(text, {{'a', 7}, {'b', 0}, {'c', 0}}));        // exactly 7 days still counts
}

TEST_CASE("an expression of only exclusions matches users with no segments", "[expression][unit]") {
  CHECK(compiled("not(a, b)").matches_no_segments());
  CHECK_FALSE(compiled("all(a, not(b))").matches_no_segments());
  CHECK(compiled("any(a, not(b))").matches_no_segments());
  group empty;
  auto p = compile(empty, id_of);
  REQUIRE(p);
  CHECK(p->empty());
  CHECK(matches(*p, {}, now));
}

TEST_CASE("the flat program agrees with a recursive reading of random expressions",
          "[expression][unit]") {
  std::mt19937_64 rng(20);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  // A random expression text over segments a..h, at most `depth` levels.
  std::function<std::string(int)> random_item = [&](int depth) -> std::string {
    if (depth < max_depth && chance(35)) {
      static constexpr const char* kinds[] = {"all(", "any(", "not("};
      std::string out = kinds[rng() % 3];
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) out += (i ? ", " : "") + random_item(depth + 1);
      return out + ")";
    }
    std::string s(1, static_cast<char>('a' + rng() % 8));
    if (chance(30)) s += "@" + std::to_string(1 + rng() % 10);
    return s;
  };
  for (int trial = 0; trial < 500; ++trial) {
    const std::string text = "all(" + random_item(2) + ", " + random_item(2) + ")";
    auto g = parse_text(text);
    REQUIRE(g);
    auto p = compile(*g, id_of);
    REQUIRE(p);
    for (int u = 0; u < 20; ++u) {
      std::vector<segment_membership> segments;
      for (segment_id s = 0; s < 8; ++s) {
        if (chance(40)) segments.push_back({s, now - static_cast<std::int64_t>(rng() % 12) * day});
      }
      INFO(text);
      CHECK(matches(*p, segments, now) == reference(*g, segments));
    }
  }
}

TEST_CASE("compile refuses what check refuses", "[expression][unit]") {
  group g;
  g.all_of.push_back({.segment = "bad name"});
  auto p = compile(g, id_of);
  REQUIRE_FALSE(p);
  CHECK(p.error().message ==
        "all_of[0].segment: \"bad name\" is not a segment name (1 to 128 of "
        "A-Z a-z 0-9 - _ . ~ :)");
}

}  // namespace bidder::expression
