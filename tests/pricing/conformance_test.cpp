#include <google/protobuf/any.pb.h>
#include <google/protobuf/duration.pb.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bidder/pricing/factory.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"
#include "models/fixed/fixed.pb.h"
#include "models/learned/learned.pb.h"
#include "models/rules/rules.pb.h"
#include "tests/support/learned_model_file.hpp"
#include "tests/support/temp_dir.hpp"

// The conformance suite every registered pricing model must pass (STYLE.md section 6).

namespace {

using bidder::errc;
using bidder::money;
using bidder::segment_dictionary;
using bidder::pricing::create_context;
using bidder::pricing::factory;
using bidder::pricing::model;
using bidder::pricing::pricing_input;
using bidder::pricing::registry;

const registry& builtin() {
  static const registry r = [] {
    registry out;
    auto added = bidder::models::register_builtin_models(out);
    REQUIRE(added);
    return out;
  }();
  return r;
}

std::vector<std::string> builtin_names() { return builtin().names(); }

// The learned model reads its weights from files: these live as long as the test binary.
const bidder::test::temp_dir& model_dir() {
  static const bidder::test::temp_dir dir("conformance-models");
  return dir;
}
google::protobuf::Any learned_config(const std::string& file,
                                     const bidder::test::learned_model_spec& spec) {
  bidder::models::learned::v1::LearnedConfig learned;
  learned.set_click_model(bidder::test::write_learned_model(model_dir().path / file, spec));
  learned.set_value_per_click(0.004);  // P = 0.5 without features: a 2.00 CPM
  google::protobuf::Any any;
  any.PackFrom(learned);
  return any;
}

/// A valid config for each built-in model. A new model must add a line here.
std::map<std::string, google::protobuf::Any> valid_configs() {
  std::map<std::string, google::protobuf::Any> out;
  bidder::models::fixed::v1::FixedConfig fixed;
  fixed.set_cpm(1.5);
  out["fixed"].PackFrom(fixed);
  bidder::models::rules::v1::RulesConfig rules;
  rules.set_base_cpm(2);
  out["rules"].PackFrom(rules);
  out["learned"] = learned_config("plain.model", {});
  return out;
}

/// Configs that make each model's price depend on what it can read (segments, request fields),
/// for the checks that a model declares what it reads. A new model that reads segments must add
/// such a config here.
std::multimap<std::string, google::protobuf::Any> feature_configs() {
  std::multimap<std::string, google::protobuf::Any> out;
  for (auto& [name, any] : valid_configs()) out.emplace(name, any);
  bidder::models::rules::v1::RulesConfig rules;
  rules.set_base_cpm(2);
  auto* segment = rules.add_rules();
  segment->set_multiplier(3);
  segment->mutable_segment()->set_segment("car-site-visitor");
  auto* count = rules.add_rules();
  count->set_multiplier(1.5);
  count->mutable_segment_count()->add_segments("car-site-visitor");
  count->mutable_segment_count()->add_segments("affluent-zip");
  count->mutable_segment_count()->set_at_least(2);
  out.emplace("rules", google::protobuf::Any())->second.PackFrom(rules);
  out.emplace("learned",
              learned_config("segments.model", {.segment_weights = {{"car-site-visitor", 1.5}}}));
  return out;
}

/// A plain site request: one 300x250 banner, no user data.
struct plain_request {
  bidder::openrtb::bid_request request;
  plain_request() {
    request.id = "req-1";
    request.inventory = bidder::openrtb::inventory_kind::site;
    request.domain = "news.example.com";
    bidder::openrtb::imp& imp = request.imps.emplace();
    imp.id = "1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
  }
  pricing_input input() const {
    return pricing_input{
        request,      request.imps[0], {}, money::from_units(0.1), money::from_units(100),
        1'750'000'000};
  }
};

}  // namespace

TEST_CASE("the built-in registry has the documented models", "[pricing][unit]") {
  CHECK(builtin_names() == std::vector<std::string>{"fixed", "learned", "rules"});
  registry twice;
  REQUIRE(bidder::models::register_builtin_models(twice));
  auto again = bidder::models::register_builtin_models(twice);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::duplicate);
}

TEST_CASE("every model either builds from an empty config or refuses it as invalid_config",
          "[pricing][unit]") {
  const std::string name = GENERATE(from_range(builtin_names()));
  CAPTURE(name);
  const factory* f = builtin().find(name);
  REQUIRE(f != nullptr);
  CHECK(f->name() == name);
  CHECK_FALSE(f->config_type().empty());

  segment_dictionary segments;
  auto built = f->create(google::protobuf::Any(), create_context{segments});
  if (built) {
    REQUIRE(*built != nullptr);
    plain_request r;
    auto q = (*built)->price(r.input());
    if (q.is_bid()) CHECK(q.price() > money());
  } else {
    CHECK(built.error().code == errc::invalid_config);
    CHECK_THAT(built.error().message, Catch::StartsWith("config"));
  }
}

TEST_CASE("every model refuses a config of another @type and names the type it expects",
          "[pricing][unit]") {
  const std::string name = GENERATE(from_range(builtin_names()));
  CAPTURE(name);
  const factory* f = builtin().find(name);
  REQUIRE(f != nullptr);

  google::protobuf::Duration other;
  other.set_seconds(5);
  google::protobuf::Any wrong;
  wrong.PackFrom(other);

  segment_dictionary segments;
  auto built = f->create(wrong, create_context{segments});
  REQUIRE_FALSE(built);
  CHECK(built.error().code == errc::invalid_config);
  CHECK_THAT(built.error().message, Catch::Contains(std::string(f->config_type())));
  CHECK_THAT(built.error().message, Catch::Contains("google.protobuf.Duration"));
}

TEST_CASE("every model refuses an Any of its own type whose bytes do not decode",
          "[pricing][unit]") {
  const std::string name = GENERATE(from_range(builtin_names()));
  CAPTURE(name);
  const factory* f = builtin().find(name);
  REQUIRE(f != nullptr);
  google::protobuf::Any garbled;
  garbled.set_type_url("type.googleapis.com/" + std::string(f->config_type()));
  garbled.set_value(std::string("\xff\xff\xff\xff", 4));
  segment_dictionary segments;
  auto built = f->create(garbled, create_context{segments});
  REQUIRE_FALSE(built);
  CHECK(built.error().code == errc::invalid_config);
}

TEST_CASE("every model built from a valid config prices a plain request above zero",
          "[pricing][unit]") {
  const std::string name = GENERATE(from_range(builtin_names()));
  CAPTURE(name);
  const auto configs = valid_configs();
  auto config = configs.find(name);
  INFO("add a valid config for model \"" << name << "\" to valid_configs()");
  REQUIRE(config != configs.end());

  segment_dictionary segments;
  auto built = builtin().find(name)->create(config->second, create_context{segments});
  REQUIRE(built);
  plain_request r;
  auto q = (*built)->price(r.input());
  REQUIRE(q.is_bid());
  CHECK(q.price() > money());
  if (name == "fixed") CHECK(q.price() == money::from_units(1.5));
  if (name == "rules") CHECK(q.price() == money::from_units(2));
  if (name == "learned") CHECK(q.price() == money::from_units(2));
  // The auction skips campaigns whose ceiling cannot win: a quote above it would be lost.
  CHECK(q.price() <= (*built)->ceiling());
}

TEST_CASE("one model priced from four threads gives every thread the same answer",
          "[pricing][unit]") {
  const std::string name = GENERATE(from_range(builtin_names()));
  CAPTURE(name);
  const auto configs = valid_configs();
  REQUIRE(configs.contains(name));
  segment_dictionary segments;
  auto built = builtin().find(name)->create(configs.at(name), create_context{segments});
  REQUIRE(built);
  const model& m = **built;

  plain_request r;
  const pricing_input input = r.input();
  const money expected = m.price(input).price();
  REQUIRE(expected > money());

  std::atomic<int> mismatches{0};
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        const auto q = m.price(input);
        if (!q.is_bid() || q.price() != expected) mismatches.fetch_add(1);
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(calls.load() == 40000);
  CHECK(mismatches.load() == 0);
}

TEST_CASE("a model whose price depends on the user's segments declares uses_audience",
          "[pricing][unit]") {
  // The auction reads the audience store only for models that declare it: one that reads
  // segments without saying so would silently price every user as a non-member.
  for (const std::string& name : builtin_names()) {
    const auto configs = feature_configs();
    auto [first, last] = configs.equal_range(name);
    INFO("add a config for model \"" << name << "\" to valid_configs()");
    REQUIRE(first != last);
    for (auto it = first; it != last; ++it) {
      CAPTURE(name, it->second.DebugString());
      segment_dictionary segments;
      auto built = builtin().find(name)->create(it->second, create_context{segments});
      REQUIRE(built);
      // The user is a recent member of every segment the model's config names.
      std::vector<bidder::segment_membership> all;
      for (bidder::segment_id id = 0; id < segments.size(); ++id) {
        all.push_back({id, 1'750'000'000 - 60});
      }
      plain_request r;
      pricing_input without = r.input();
      pricing_input with = r.input();
      with.segments = all;
      const bool depends = (*built)->price(without).price() != (*built)->price(with).price();
      if (depends) CHECK((*built)->uses_audience());
      if (name == "rules" && segments.size() > 0) CHECK(depends);
    }
  }
}
