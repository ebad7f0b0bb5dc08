#include "models/rules/rules_model.hpp"

#include <google/protobuf/any.pb.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/rules/rules.pb.h"

namespace {

using bidder::errc;
using bidder::money;
using bidder::segment_dictionary;
using bidder::segment_membership;
using bidder::unix_seconds;
using bidder::models::rules::v1::Rule;
using bidder::models::rules::v1::RulesConfig;
using bidder::pricing::create_context;
using bidder::pricing::model;
using bidder::pricing::pricing_input;

constexpr unix_seconds day = 86400;
// 2025-06-15 is day 20254 since the epoch; the default clock reads 15:00 UTC on that day.
constexpr unix_seconds midnight = 20254 * day;
constexpr unix_seconds default_now = midnight + 15 * 3600;

/// Builds rules models and the inputs to price with them, sharing one segment dictionary the
/// way a snapshot does.
struct fixture {
  segment_dictionary segments;
  bidder::openrtb::bid_request request;
  std::vector<segment_membership> memberships;
  unix_seconds now = default_now;

  fixture() {
    request.id = "req-1";
    request.inventory = bidder::openrtb::inventory_kind::site;
    bidder::openrtb::imp& imp = request.imps.emplace();
    imp.id = "1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
  }

  bidder::result<std::unique_ptr<model>> build(const RulesConfig& config) {
    google::protobuf::Any any;
    any.PackFrom(config);
    return bidder::models::rules::make_factory()->create(any, create_context{segments});
  }

  std::unique_ptr<model> build_ok(const RulesConfig& config) {
    auto built = build(config);
    INFO((built ? std::string() : built.error().message));
    REQUIRE(built);
    return std::move(*built);
  }

  /// The user is in `name`, last seen `seen`; kept sorted by interned id.
  void add_membership(const std::string& name, unix_seconds seen) {
    memberships.push_back({segments.intern(name), seen});
    std::sort(memberships.begin(), memberships.end(),
              [](const auto& a, const auto& b) { return a.segment < b.segment; });
  }

  /// The price in micros, or 0 when the model declines.
  std::int64_t price(const model& m) const {
    const pricing_input input{
        request, request.imps[0], memberships, money::from_units(0), money::from_units(1000), now};
    const auto q = m.price(input);
    return q.is_bid() ? q.price().micros() : 0;
  }
};

std::int64_t micros(double units) { return money::from_units(units).micros(); }

RulesConfig base(double base_cpm) {
  RulesConfig c;
  c.set_base_cpm(base_cpm);
  return c;
}

Rule& add_rule(RulesConfig& c, double multiplier) {
  Rule& r = *c.add_rules();
  r.set_multiplier(multiplier);
  return r;
}

template <class List>
void fill(List* list, std::initializer_list<const char*> values) {
  for (const char* v : values) list->add_values(v);
}

void fill_ints(bidder::models::rules::v1::IntList* list, std::initializer_list<int> values) {
  for (int v : values) list->add_values(v);
}

}  // namespace

TEST_CASE("a rules model with no rules prices at its base CPM", "[pricing][unit]") {
  fixture f;
  auto m = f.build_ok(base(2.5));
  CHECK(f.price(*m) == micros(2.5));
}

TEST_CASE("a segment rule multiplies when the user is in the segment", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(2);
  add_rule(c, 1.5).mutable_segment()->set_segment("auto-intender");
  auto m = f.build_ok(c);
  REQUIRE(f.segments.find("auto-intender").has_value());

  CHECK(f.price(*m) == micros(2));  // unknown user
  f.add_membership("sports-fan", default_now);
  CHECK(f.price(*m) == micros(2));  // another segment
  f.add_membership("auto-intender", default_now - 400 * day);
  CHECK(f.price(*m) == micros(3));  // no within_days: any age counts
}

TEST_CASE("a segment rule with within_days counts memberships up to exactly N days old",
          "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(2);
  auto* seg = add_rule(c, 2).mutable_segment();
  seg->set_segment("car-site-visitor");
  seg->set_within_days(10);
  auto m = f.build_ok(c);

  SECTION("seen just now") {
    f.add_membership("car-site-visitor", f.now);
    CHECK(f.price(*m) == micros(4));
  }
  SECTION("seen exactly 10 days ago") {
    f.add_membership("car-site-visitor", f.now - 10 * day);
    CHECK(f.price(*m) == micros(4));
  }
  SECTION("seen 10 days and one second ago") {
    f.add_membership("car-site-visitor", f.now - 10 * day - 1);
    CHECK(f.price(*m) == micros(2));
  }
  SECTION("seen 20 days ago") {
    f.add_membership("car-site-visitor", f.now - 20 * day);
    CHECK(f.price(*m) == micros(2));
  }
}

TEST_CASE("a segment_count rule multiplies when the user is in at least N listed segments",
          "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(1);
  auto* count = add_rule(c, 3).mutable_segment_count();
  count->add_segments("a");
  count->add_segments("b");
  count->add_segments("c");
  count->set_at_least(2);
  auto m = f.build_ok(c);

  f.add_membership("a", default_now);
  f.add_membership("unlisted", default_now);
  CHECK(f.price(*m) == micros(1));  // one of three
  f.add_membership("c", default_now);
  CHECK(f.price(*m) == micros(3));  // two of three
  f.add_membership("b", default_now);
  CHECK(f.price(*m) == micros(3));  // three of three: still one multiplier
}

TEST_CASE("zip and region and device type rules multiply on an exact match", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(1);
  fill(add_rule(c, 1.5).mutable_zip_in(), {"90210", "10021"});
  fill(add_rule(c, 2).mutable_region_in(), {"CA", "NY"});
  fill_ints(add_rule(c, 4).mutable_device_type_in(), {2, 4});
  auto m = f.build_ok(c);

  CHECK(f.price(*m) == micros(1));
  f.request.zip = "10021";
  CHECK(f.price(*m) == micros(1.5));
  f.request.zip = "1002";
  CHECK(f.price(*m) == micros(1));
  f.request.region = "NY";
  CHECK(f.price(*m) == micros(2));
  f.request.region = "ny";  // case matters: OpenRTB region codes are upper case
  CHECK(f.price(*m) == micros(1));
  f.request.devicetype = 4;
  CHECK(f.price(*m) == micros(4));
  f.request.devicetype = 3;
  CHECK(f.price(*m) == micros(1));
}

TEST_CASE("a site_domain rule matches the domain and its subdomains only", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(1);
  fill(add_rule(c, 2).mutable_site_domain_in(), {"example.com"});
  auto m = f.build_ok(c);

  const auto [domain, expected] = GENERATE(table<const char*, double>({
      {"example.com", 2},
      {"news.example.com", 2},
      {"a.b.example.com", 2},
      {"badexample.com", 1},
      {"example.com.evil.net", 1},
      {"example.co", 1},
      {"", 1},
  }));
  CAPTURE(domain);
  f.request.domain = domain;
  CHECK(f.price(*m) == micros(expected));
}

TEST_CASE("a category rule matches any of the request's content categories", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(1);
  fill(add_rule(c, 1.25).mutable_category_in(), {"IAB2", "IAB19"});
  auto m = f.build_ok(c);

  f.request.content_cat.push_back("IAB1");
  CHECK(f.price(*m) == micros(1));
  f.request.content_cat.push_back("IAB2-1");  // a subcategory is not the listed category
  CHECK(f.price(*m) == micros(1));
  f.request.content_cat.push_back("IAB19");
  CHECK(f.price(*m) == micros(1.25));
}

TEST_CASE("an hour_of_day rule matches the UTC hour of the given now", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(2);
  fill_ints(add_rule(c, 1.5).mutable_hour_of_day_in(), {18, 19});
  auto m = f.build_ok(c);

  f.now = midnight + 17 * 3600 + 3599;  // 17:59:59
  CHECK(f.price(*m) == micros(2));
  f.now = midnight + 18 * 3600;  // 18:00:00
  CHECK(f.price(*m) == micros(3));
  f.now = midnight + 19 * 3600 + 3599;  // 19:59:59
  CHECK(f.price(*m) == micros(3));
  f.now = midnight + 20 * 3600;  // 20:00:00
  CHECK(f.price(*m) == micros(2));
  f.now = midnight + 5 * day + 18 * 3600 + 1;  // another day, same hour
  CHECK(f.price(*m) == micros(3));
}

TEST_CASE("the multipliers of several matching rules multiply together", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(2);
  fill(add_rule(c, 1.5).mutable_zip_in(), {"90210"});
  add_rule(c, 2).mutable_segment()->set_segment("old-car-owner");
  fill_ints(add_rule(c, 0.5).mutable_device_type_in(), {1});
  fill(add_rule(c, 10).mutable_region_in(), {"TX"});  // does not match
  auto m = f.build_ok(c);

  f.request.zip = "90210";
  f.add_membership("old-car-owner", default_now);
  CHECK(f.price(*m) == micros(6));  // 2 x 1.5 x 2
  f.request.devicetype = 1;
  CHECK(f.price(*m) == micros(3));  // 2 x 1.5 x 2 x 0.5
}

TEST_CASE("a rules model shares segment ids with the dictionary it was built with",
          "[pricing][unit]") {
  fixture f;
  const auto before = f.segments.intern("already-known");
  RulesConfig c = base(1);
  add_rule(c, 2).mutable_segment()->set_segment("already-known");
  add_rule(c, 3).mutable_segment()->set_segment("new-one");
  auto m = f.build_ok(c);
  CHECK(f.segments.find("already-known") == before);
  REQUIRE(f.segments.find("new-one").has_value());
  f.memberships.push_back({*f.segments.find("new-one"), default_now});
  CHECK(f.price(*m) == micros(3));
}

TEST_CASE("invalid rules configs are rejected naming the field", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(1);
  std::string field;

  SECTION("base_cpm 0") {
    c.set_base_cpm(0);
    field = "config.base_cpm";
  }
  SECTION("base_cpm negative") {
    c.set_base_cpm(-1);
    field = "config.base_cpm";
  }
  SECTION("multiplier 0") {
    fill(add_rule(c, 0).mutable_zip_in(), {"1"});
    field = "config.rules[0].multiplier";
  }
  SECTION("multiplier negative, in the second rule") {
    fill(add_rule(c, 1.1).mutable_zip_in(), {"1"});
    fill(add_rule(c, -2).mutable_zip_in(), {"1"});
    field = "config.rules[1].multiplier";
  }
  SECTION("hour 24") {
    fill_ints(add_rule(c, 1.5).mutable_hour_of_day_in(), {23, 24});
    field = "config.rules[0].hour_of_day_in";
  }
  SECTION("hour -1") {
    fill_ints(add_rule(c, 1.5).mutable_hour_of_day_in(), {-1});
    field = "config.rules[0].hour_of_day_in";
  }
  SECTION("rule without a condition") {
    add_rule(c, 1.5);
    field = "config.rules[0]";
  }
  SECTION("segment rule without a segment name") {
    add_rule(c, 1.5).mutable_segment()->set_within_days(3);
    field = "config.rules[0].segment.segment";
  }
  SECTION("segment_count with at_least 0") {
    add_rule(c, 1.5).mutable_segment_count()->add_segments("a");
    field = "config.rules[0].segment_count";
  }

  auto built = f.build(c);
  REQUIRE_FALSE(built);
  CHECK(built.error().code == errc::invalid_config);
  CHECK_THAT(built.error().message, Catch::StartsWith(field));
}

TEST_CASE("a valid hour 0 and hour 23 are accepted", "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(1);
  fill_ints(add_rule(c, 2).mutable_hour_of_day_in(), {0, 23});
  auto m = f.build_ok(c);
  f.now = midnight + 23 * 3600;
  CHECK(f.price(*m) == micros(2));
  f.now = midnight + day;  // 00:00 next day
  CHECK(f.price(*m) == micros(2));
  f.now = midnight + 12 * 3600;
  CHECK(f.price(*m) == micros(1));
}

TEST_CASE("a rules model's ceiling bounds every price it quotes and no more than needed",
          "[pricing][unit]") {
  fixture f;
  RulesConfig c = base(2);
  fill(add_rule(c, 1.5).mutable_zip_in(), {"90210"});
  add_rule(c, 2).mutable_segment()->set_segment("old-car-owner");
  fill_ints(add_rule(c, 0.5).mutable_device_type_in(), {1});
  auto m = f.build_ok(c);
  // 2 x 1.5 x 2: the 0.5 rule can only lower the price; one micro of rounding slack.
  CHECK(m->ceiling().micros() == micros(6) + 1);

  // Every combination of matching rules stays at or under the ceiling.
  for (int mask = 0; mask < 8; ++mask) {
    f.request.zip = (mask & 1) != 0 ? "90210" : "";
    f.memberships.clear();
    if ((mask & 2) != 0) f.add_membership("old-car-owner", default_now);
    f.request.devicetype = (mask & 4) != 0 ? 1 : 0;
    CAPTURE(mask);
    CHECK(f.price(*m) <= m->ceiling().micros());
  }
  CHECK(f.build_ok(base(3))->ceiling().micros() == micros(3) + 1);
}
