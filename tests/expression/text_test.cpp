#include "bidder/expression/text.hpp"

#include <catch2/catch.hpp>

namespace bidder::expression {

// Catch prints the values of failed checks: results of these need a printer.
inline std::ostream& operator<<(std::ostream& os, const group& g) { return os << to_text(g); }

TEST_CASE("the text syntax reads nested groups with recency", "[expression][unit]") {
  auto g = parse_text(" all( car-intender@10 , any(affluent-zip, 3p:acme:123), not(recent-buyer))");
  REQUIRE(g);
  REQUIRE(g->all_of.size() == 3);
  CHECK(g->all_of[0].segment == "car-intender");
  CHECK(g->all_of[0].within_days == 10);
  REQUIRE(g->all_of[1].nested);
  CHECK(g->all_of[1].nested->any_of.size() == 2);
  CHECK(g->all_of[1].nested->any_of[1].segment == "3p:acme:123");
  REQUIRE(g->all_of[2].nested);
  CHECK(g->all_of[2].nested->none_of[0].segment == "recent-buyer");
  CHECK(to_text(*g) == "all(car-intender@10, any(affluent-zip, 3p:acme:123), not(recent-buyer))");

  SECTION("a lone segment is a group of one") {
    auto one = parse_text("golfers@30");
    REQUIRE(one);
    REQUIRE(one->all_of.size() == 1);
    CHECK(one->all_of[0].within_days == 30);
    CHECK(to_text(*one) == "all(golfers@30)");
  }
  SECTION("segments named like groups are written without parentheses") {
    auto named = parse_text("any(all, not)");
    REQUIRE(named);
    CHECK(named->any_of[0].segment == "all");
    CHECK(to_text(*named) == "any(all, not)");
  }
}

TEST_CASE("bad expression text is refused with its column", "[expression][unit]") {
  struct bad {
    std::string text, error;
  };
  const std::string too_long(max_text_bytes + 1, 'a');
  const std::string long_name(129, 'x');
  auto [text, error] = GENERATE_COPY(table<std::string, std::string>({
      {"", "at 1: empty expression: give a segment, all(...), any(...) or not(...)"},
      {"all(a, b", "at 9: expected ',' or ')'"},
      {"all(a,, b)", "at 7: expected a segment or a group, found ','"},
      {"all()", "at 5: empty all(): it needs at least one item"},
      {"some(a)", "at 1: unknown group \"some\": use all(...), any(...) or not(...)"},
      {"a@", "at 3: expected a number of days after '@'"},
      {"a@0", "at 3: days after '@': 1 to 36500"},
      {"a@99999999999", "at 3: expected a number of days after '@'"},
      {"a b", "at 3: unexpected 'b' after the end"},
      {"all(a) )", "at 8: unexpected ')' after the end"},
      {"all(a, b$)", "at 9: expected ',' or ')'"},
      {"all(a, any(b, all(c, not(d, any(e)))))", "at 29: nested deeper than 4 levels"},
      {long_name, "at 1: segment name longer than 128 bytes"},
      {too_long, "expression longer than 8192 bytes"},
  }));
  INFO(text);
  auto g = parse_text(text);
  REQUIRE_FALSE(g);
  CHECK(g.error().message == error);
}

TEST_CASE("check names each bad condition by its path", "[expression][unit]") {
  group g;
  g.all_of.push_back({.segment = "a"});
  condition nested;
  nested.nested = std::make_unique<group>();
  SECTION("an empty nested group") {
    g.all_of.push_back(std::move(nested));
    CHECK(check(g).error().message == "all_of[1].expression: an empty group matches no one");
  }
  SECTION("recency on a nested group") {
    nested.nested->any_of.push_back({.segment = "b"});
    nested.within_days = 3;
    g.none_of.push_back(std::move(nested));
    CHECK(check(g).error().message ==
          "none_of[0].within_days: applies to a segment; put it on the segments inside the "
          "expression");
  }
  SECTION("a bad name deep inside") {
    nested.nested->any_of.push_back({.segment = "b"});
    nested.nested->any_of.push_back({.segment = "b/c"});
    g.any_of.push_back(std::move(nested));
    CHECK(check(g).error().message ==
          "any_of[0].expression.any_of[1].segment: \"b/c\" is not a segment name (1 to 128 of "
          "A-Z a-z 0-9 - _ . ~ :)");
  }
  SECTION("too many conditions") {
    for (int i = 0; i < 64; ++i) g.any_of.push_back({.segment = "s" + std::to_string(i)});
    CHECK(check(g).error().message == "expression: 65 conditions; at most 64");
  }
  SECTION("recency too long") {
    g.all_of[0].within_days = 36'501;
    CHECK(check(g).error().message == "all_of[0].within_days: at most 36500");
  }
}

}  // namespace bidder::expression
