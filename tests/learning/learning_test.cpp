// Learned pricing (issue 16): feature extraction and hashing, the model file, the `learned`
// pricing model.
#include <google/protobuf/any.pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "bidder/learning/features.hpp"
#include "bidder/learning/model_file.hpp"
#include "models/learned/learned.pb.h"
#include "models/learned/learned_model.hpp"
#include "tests/support/learned_model_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace bidder;
using learning::feature_tokens;
using learning::hashed_features;

constexpr unix_seconds now = 1'750'000'000;  // 2025-06-15 15:06:40 UTC

struct sample_request {
  openrtb::bid_request request;
  segment_dictionary names;
  std::vector<segment_membership> segments;
  sample_request() {
    request.id = "r1";
    request.inventory = openrtb::inventory_kind::site;
    request.domain = "News.Example";
    request.publisher_id = "pub 1";
    request.devicetype = 4;
    request.os = "iOS";
    request.country = "USA";
    request.region = "CA";
    request.zip = "90210";
    request.utcoffset_minutes = -7 * 60;
    request.content_cat.push_back("IAB2");
    openrtb::imp& imp = request.imps.emplace();
    imp.id = "1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
    segments.push_back({names.intern("car-intender"), now - 2 * 86400});
    segments.push_back({names.intern("affluent"), now - 40 * 86400});
  }
  void extract(feature_tokens& out) const {
    learning::extract({.request = request,
                       .imp = request.imps[0],
                       .segments = segments,
                       .segment_names = &names,
                       .now = now,
                       .exchange = "openx"},
                      out);
  }
  std::string text() const {
    feature_tokens tokens;
    extract(tokens);
    char buffer[255];
    return std::string(buffer, learning::write_text(tokens, buffer));
  }
};

std::multiset<std::uint64_t> as_set(const hashed_features& h) {
  return {h.items.begin(), h.items.begin() + static_cast<std::ptrdiff_t>(h.size)};
}

}  // namespace

TEST_CASE("features: a request's tokens, canonical, in a fixed order", "[learning][unit]") {
  sample_request r;
  // Local hour: 15:06 UTC - 7 h = 8. Values lower-cased, the space in "pub 1" replaced.
  CHECK(r.text() ==
        "x=openx s=news.example p=pub_1 d=4 o=ios c=usa r=ca z=90210 h=8 f=300x250 k=iab2 "
        "g=car-intender:1 g=affluent:5");
  CHECK(learning::recency_bucket(now - 10, now) == '0');
  CHECK(learning::recency_bucket(now - 6 * 86400, now) == '2');
  CHECK(learning::recency_bucket(now - 29 * 86400, now) == '4');
  CHECK(learning::recency_bucket(0, now) == '5');
}

TEST_CASE("features: the hashes are frozen (a model file stays valid across builds)",
          "[learning][unit]") {
  // These values are part of the model file format: if this test fails, extraction or hashing
  // changed, and learning::feature_version must be bumped (old models are then refused).
  CHECK(learning::text_hash("s=news.example", 7) == 0x4dcb987916992a6eULL);
  CHECK(learning::campaign_hash("shoes", 7) == 0xfb1564bba88197e5ULL);
  CHECK(learning::token_hash({'s', "NEWS.example", 0}, 7) ==
        learning::text_hash("s=news.example", 7));
  CHECK(learning::token_hash({'g', "car", '1'}, 7) == learning::text_hash("g=car:1", 7));
}

TEST_CASE("features: the bid path's hashes equal those of the logged text", "[learning][unit]") {
  sample_request r;
  feature_tokens tokens;
  r.extract(tokens);
  const std::uint64_t campaign = learning::campaign_hash("shoes", 3);
  hashed_features from_tokens, from_text;
  learning::hash_features(tokens, campaign, 3, from_tokens);
  learning::hash_features(r.text(), campaign, 3, from_text);
  CHECK(from_tokens.size == from_text.size);
  CHECK(as_set(from_tokens) == as_set(from_text));
  // bias, campaign bias, 13 tokens and 2 segments' bucket-less forms (each also crossed with
  // the campaign), site x device, site x slot.
  CHECK(from_tokens.size == 2 + 2 * 13 + 2 * 2 + 2);
  // Hostile text is skipped, never read past.
  hashed_features hostile;
  learning::hash_features("=x  g= g=: zz s=ok", campaign, 3, hostile);
  CHECK(hostile.size == 2 + 2 + 2);  // the biases, then "g=:" and "s=ok" (with crosses)
}

TEST_CASE("features: a user in many segments is priced on exactly what the log keeps",
          "[learning][unit]") {
  sample_request r;
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) names.push_back("a-rather-long-segment-name-" + std::to_string(i));
  r.segments.clear();
  for (const std::string& name : names) r.segments.push_back({r.names.intern(name), now - 10});
  feature_tokens tokens;
  r.extract(tokens);
  CHECK(tokens.text_bytes <= learning::max_text_bytes);
  CHECK(tokens.size < 13 + names.size());  // segments that do not fit are left out
  char buffer[learning::max_text_bytes];
  const std::string text(buffer, learning::write_text(tokens, buffer));
  CHECK(text.size() == tokens.text_bytes);
  hashed_features from_tokens, from_text;
  learning::hash_features(tokens, 1, 3, from_tokens);
  learning::hash_features(text, 1, 3, from_text);
  CHECK(as_set(from_tokens) == as_set(from_text));
  // A hostile request's long values are cut to 48 bytes each and still fit.
  const std::string huge(5000, 'X');
  r.request.domain = r.request.publisher_id = r.request.os = r.request.region = huge;
  r.extract(tokens);
  CHECK(tokens.text_bytes <= learning::max_text_bytes);
  const std::string hostile(buffer, learning::write_text(tokens, buffer));
  learning::hash_features(tokens, 1, 3, from_tokens);
  learning::hash_features(hostile, 1, 3, from_text);
  CHECK(as_set(from_tokens) == as_set(from_text));
}

TEST_CASE("features: text that does not fit keeps whole tokens", "[learning][unit]") {
  sample_request r;
  feature_tokens tokens;
  r.extract(tokens);
  char small[20];
  const std::size_t n = learning::write_text(tokens, small);
  const std::string text(small, n);
  CHECK(text == "x=openx p=pub_1 d=4");  // s=news.example did not fit; shorter ones did
}

TEST_CASE("model file: round trip, and every damage refused with its reason", "[learning][unit]") {
  learning::model m =
      test::make_learned_model({.bits = 10, .bias = 0.25, .segment_weights = {{"car", 1.0}}});
  m.summary = R"({"holdout":{"auc":0.7}})";
  m.examples = 1234;
  const std::string bytes = learning::serialize_model(m);
  auto back = learning::parse_model(bytes, "m");
  REQUIRE(back.has_value());
  CHECK(back->bits == 10);
  CHECK(back->seed == m.seed);
  CHECK(back->examples == 1234);
  CHECK(back->summary == m.summary);
  CHECK(back->segments == std::vector<std::string>{"car"});
  CHECK(back->weights == m.weights);

  auto refused = [&](const std::string& damaged, const std::string& reason) {
    auto r = learning::parse_model(damaged, "m.model");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_config);
    CHECK_THAT(r.error().message, Catch::StartsWith("m.model: ") && Catch::Contains(reason));
  };
  refused("not a model at all", "bad magic");
  refused(bytes.substr(0, bytes.size() / 2), "checksum");
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 1;
  refused(flipped, "checksum");
  refused(bytes + "x", "checksum");
  // Another feature version, with a valid checksum: retrain.
  std::string other = bytes.substr(0, bytes.size() - 8);
  other[12] = 99;  // magic (8), format version (4), then the feature version
  const std::uint64_t sum = hash64(other, 0x6d6f64656cULL);
  other.append(reinterpret_cast<const char*>(&sum), 8);
  refused(other, "feature version 99");
  learning::model bad = m;
  bad.weights[3] = std::nanf("");
  refused(learning::serialize_model(bad), "not a finite number");
  bad = m;
  bad.bits = 30;
  refused(learning::serialize_model(bad), "table bits 30");
}

TEST_CASE("model file: written atomically, read back; a missing file is an io_error",
          "[learning][unit]") {
  test::temp_dir dir("learning-file");
  const std::string path = test::write_learned_model(dir.path / "a.model", {.bits = 8});
  auto m = learning::read_model_file(path);
  REQUIRE(m.has_value());
  CHECK(m->weights.size() == 256);
  // Only the model: no temporary file left beside it.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                      std::filesystem::directory_iterator()) == 1);
  auto missing = learning::read_model_file((dir.path / "none.model").string());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::io_error);
}

namespace {

result<std::unique_ptr<pricing::model>> build(const models::learned::v1::LearnedConfig& config,
                                              segment_dictionary& names,
                                              const std::string& dir = "") {
  google::protobuf::Any any;
  any.PackFrom(config);
  return models::learned::make_factory()->create(any, {.segments = names, .files_dir = dir});
}

}  // namespace

TEST_CASE("learned model: bids the expected value, from relative paths next to the config",
          "[learning][unit]") {
  test::temp_dir dir("learned-model");
  test::write_learned_model(dir.path / "click.model",
                            {.bias = -4.0, .segment_weights = {{"car-intender", 2.0}}});
  test::write_learned_model(dir.path / "conv.model",
                            {.target = learning::model_target::conversion, .bias = -2.0});
  models::learned::v1::LearnedConfig config;
  config.set_click_model("click.model");
  config.set_value_per_conversion(10);
  config.set_conversion_rate(0.5);
  segment_dictionary names;
  auto model = build(config, names, dir.path.string());
  REQUIRE(model.has_value());
  CHECK((*model)->uses_audience());
  CHECK(names.find("car-intender"));  // interned, so the auction looks it up

  sample_request r;
  auto price = [&](std::span<const segment_membership> segments) {
    const pricing::pricing_input in{
        r.request, r.request.imps[0], segments, money(), money::from_units(100),
        now,       "openx",           "shoes"};
    return (*model)->price(in);
  };
  const double sigmoid = 1 / (1 + std::exp(4.0));
  auto q = price({});
  REQUIRE(q.is_bid());
  CHECK(q.price().units() == Approx(1000 * sigmoid * 0.5 * 10).epsilon(1e-6));
  CHECK(q.price() <= (*model)->ceiling());
  // A member of the segment the model learned is worth more.
  const std::vector<segment_membership> member{{*names.find("car-intender"), now - 100}};
  CHECK(price(member).price() > q.price());

  // With the imp's scratch, later campaigns reuse the first one's features: same prices.
  pricing::imp_scratch scratch;
  for (const char* campaign : {"shoes", "socks", "shoes"}) {
    pricing::pricing_input shared{
        r.request, r.request.imps[0], member,   money(), money::from_units(100),
        now,       "openx",           campaign, &scratch};
    pricing::pricing_input alone = shared;
    alone.scratch = nullptr;
    CHECK((*model)->price(shared).price() == (*model)->price(alone).price());
    CHECK(scratch.owner != 0);
  }

  config.set_conversion_model("conv.model");
  auto with_conversions = build(config, names, dir.path.string());
  REQUIRE(with_conversions.has_value());
  const pricing::pricing_input in{
      r.request, r.request.imps[0], {}, money(), money::from_units(100), now, "openx", "shoes"};
  CHECK((*with_conversions)->price(in).price().units() ==
        Approx(1000 * sigmoid * (1 / (1 + std::exp(2.0))) * 10).epsilon(1e-6));
}

TEST_CASE("learned model: a bad config or model file is refused, naming the field",
          "[learning][unit]") {
  test::temp_dir dir("learned-refused");
  test::write_learned_model(dir.path / "click.model", {});
  test::write_learned_model(dir.path / "conv.model",
                            {.target = learning::model_target::conversion});
  std::ofstream(dir.path / "broken.model") << "BIDLRN\r\n garbage";
  segment_dictionary names;
  auto refused = [&](const models::learned::v1::LearnedConfig& c, const std::string& reason) {
    auto r = build(c, names, dir.path.string());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_config);
    CHECK_THAT(r.error().message, Catch::Contains(reason));
  };
  models::learned::v1::LearnedConfig c;
  c.set_value_per_click(1);
  refused(c, "config.click_model: missing");
  c.set_click_model("nowhere.model");
  refused(c, "config.click_model: " + (dir.path / "nowhere.model").string() + ": cannot open");
  c.set_click_model("broken.model");
  refused(c, "config.click_model: " + (dir.path / "broken.model").string() + ": checksum");
  c.set_click_model("conv.model");
  refused(c, "predicts conversion, not click");
  c.set_click_model("click.model");
  c.set_conversion_model("click.model");
  refused(c, "config.conversion_model: click.model predicts click, not conversion");
  c.clear_conversion_model();
  c.set_value_per_click(0);
  refused(c, "one must be > 0");
  c.set_value_per_click(-1);
  refused(c, "must be numbers >= 0");
  c.set_value_per_click(1);
  c.set_bid_fraction(1.5);
  refused(c, "config.bid_fraction");
  c.set_bid_fraction(0.5);
  c.set_conversion_rate(2);
  refused(c, "config.conversion_rate");
}
