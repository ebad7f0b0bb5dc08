#include "models/learned/learned_model.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <new>
#include <optional>
#include <string>
#include <type_traits>

#include "bidder/learning/features.hpp"
#include "bidder/learning/model_file.hpp"
#include "bidder/pricing/typed_factory.hpp"
#include "models/learned/learned.pb.h"

namespace bidder::models::learned {
namespace {

static_assert(sizeof(learning::token_hashes) <= sizeof(pricing::imp_scratch::bytes),
              "the token hashes must fit the imp's scratch");
static_assert(std::is_trivially_copyable_v<learning::token_hashes>);

struct values {
  double per_click = 0;
  double per_conversion = 0;
  double conversion_rate = 0;
  double bid_fraction = 1;
};

class learned_model final : public pricing::model {
 public:
  learned_model(learning::model click, std::optional<learning::model> conversion, values v,
                const segment_dictionary* names)
      : click_(std::move(click)), conversion_(std::move(conversion)), values_(v), names_(names) {
    // Models sharing a seed (and the segment names) compute the same token hashes for an imp.
    tag_ = mix64(click_.seed ^ (std::uint64_t{learning::feature_version} << 32) ^
                 reinterpret_cast<std::uintptr_t>(names_)) |
           1;
    // P(click) and P(conversion | click) are at most 1.
    const double top = 1000 * (v.per_click + v.per_conversion) * v.bid_fraction;
    ceiling_ = top < 1e9 ? money::from_micros(money::from_units(top).micros() + 1)
                         : money::from_micros(INT64_MAX);
  }

  pricing::quote price(const pricing::pricing_input& in) const noexcept override {
    // The tokens and their hashes are the same for every campaign priced for this imp: the
    // first learned model to price it stores them in the imp's scratch, the others reuse them.
    learning::token_hashes local;
    const learning::token_hashes* hashes = &local;
    if (in.scratch != nullptr && in.scratch->owner == tag_) {
      hashes = std::launder(reinterpret_cast<const learning::token_hashes*>(in.scratch->bytes));
    } else {
      learning::feature_tokens tokens;
      extract(in, tokens);
      learning::hash_tokens(tokens, click_.seed, local);
      if (in.scratch != nullptr) {
        std::memcpy(in.scratch->bytes, &local, sizeof local);
        in.scratch->owner = tag_;
      }
    }
    learning::hashed_features hashed;
    learning::hash_features(*hashes, learning::campaign_hash(in.campaign_id, click_.seed), hashed);
    const double p_click = click_.predict(hashed);
    double p_conversion = values_.conversion_rate;
    if (conversion_) {
      if (conversion_->seed != click_.seed) {
        learning::feature_tokens tokens;
        extract(in, tokens);
        learning::hash_features(tokens, learning::campaign_hash(in.campaign_id, conversion_->seed),
                                conversion_->seed, hashed);
      }
      p_conversion = conversion_->predict(hashed);
    }
    const double cpm = 1000 * p_click *
                       (values_.per_click + p_conversion * values_.per_conversion) *
                       values_.bid_fraction;
    if (!(cpm >= 1e-6) || !std::isfinite(cpm)) return pricing::quote::no_bid();
    return pricing::quote::bid(std::min(money::from_units(cpm), ceiling_));
  }
  money ceiling() const noexcept override { return ceiling_; }
  bool uses_audience() const noexcept override { return true; }

 private:
  void extract(const pricing::pricing_input& in, learning::feature_tokens& tokens) const noexcept {
    learning::extract({.request = in.request,
                       .imp = in.imp,
                       .segments = in.segments,
                       .segment_names = names_,
                       .now = in.now,
                       .exchange = in.exchange},
                      tokens);
  }

  learning::model click_;
  std::optional<learning::model> conversion_;
  values values_;
  const segment_dictionary* names_;
  std::uint64_t tag_ = 0;
  money ceiling_;
};

std::string resolve(std::string_view files_dir, const std::string& path) {
  if (files_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(files_dir) / path).string();
}

// Reads a model file for `field`, checks its target and interns its segment vocabulary (so
// the auction looks those segments up for the model).
result<learning::model> load(const std::string& path, learning::model_target expected,
                             const char* field, const pricing::create_context& ctx) {
  auto m = learning::read_model_file(resolve(ctx.files_dir, path));
  if (!m) return make_error(errc::invalid_config, std::string(field) + ": " + m.error().message);
  if (m->target != expected) {
    return make_error(errc::invalid_config, std::string(field) + ": " + path + " predicts " +
                                                std::string(learning::to_string(m->target)) +
                                                ", not " +
                                                std::string(learning::to_string(expected)));
  }
  // The log writes segment names canonicalised (features.hpp); only a name that is its own
  // canonical form is sure to be the store's. Others are seen while a campaign targets them.
  for (const std::string& s : m->segments) {
    if (learning::is_canonical(s)) ctx.segments.intern(s);
  }
  return m;
}

bool valid_value(double v) { return v >= 0 && std::isfinite(v); }

class learned_factory final : public pricing::typed_factory<v1::LearnedConfig> {
 public:
  learned_factory() : typed_factory("learned") {}

 protected:
  result<std::unique_ptr<pricing::model>> create_typed(
      const v1::LearnedConfig& config, const pricing::create_context& ctx) const override {
    if (!valid_value(config.value_per_click()) || !valid_value(config.value_per_conversion())) {
      return make_error(errc::invalid_config,
                        "config.value_per_click, value_per_conversion: must be numbers >= 0");
    }
    if (config.value_per_click() <= 0 && config.value_per_conversion() <= 0) {
      return make_error(errc::invalid_config,
                        "config.value_per_click, value_per_conversion: one must be > 0");
    }
    if (!(config.conversion_rate() >= 0 && config.conversion_rate() <= 1)) {
      return make_error(errc::invalid_config, "config.conversion_rate: must be 0 to 1");
    }
    if (!(config.bid_fraction() >= 0 && config.bid_fraction() <= 1)) {
      return make_error(errc::invalid_config,
                        "config.bid_fraction: must be in (0, 1] (0 or absent: 1)");
    }
    if (config.click_model().empty()) {
      return make_error(errc::invalid_config, "config.click_model: missing (a model file path)");
    }
    auto click =
        load(config.click_model(), learning::model_target::click, "config.click_model", ctx);
    if (!click) return click.error();
    std::optional<learning::model> conversion;
    if (!config.conversion_model().empty()) {
      auto m = load(config.conversion_model(), learning::model_target::conversion,
                    "config.conversion_model", ctx);
      if (!m) return m.error();
      conversion = std::move(*m);
    }
    const values v{.per_click = config.value_per_click(),
                   .per_conversion = config.value_per_conversion(),
                   .conversion_rate = config.conversion_rate(),
                   .bid_fraction = config.bid_fraction() > 0 ? config.bid_fraction() : 1.0};
    return std::make_unique<learned_model>(std::move(*click), std::move(conversion), v,
                                           &ctx.segments);
  }
};

}  // namespace

std::unique_ptr<pricing::factory> make_factory() { return std::make_unique<learned_factory>(); }

}  // namespace bidder::models::learned
