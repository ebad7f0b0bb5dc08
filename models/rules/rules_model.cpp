#include "models/rules/rules_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bidder/core/sorted_lists.hpp"
#include "bidder/openrtb/normalize.hpp"
#include "bidder/pricing/typed_factory.hpp"
#include "models/rules/rules.pb.h"

namespace bidder::models::rules {
namespace {

enum class condition : std::uint8_t {
  segment,
  segment_count,
  zip,
  region,
  device_type,
  site_domain,
  category,
  hour_of_day,
};

struct compiled_rule {
  condition kind = condition::segment;
  double multiplier = 1;
  segment_id segment = 0;
  std::uint32_t within_days = 0;
  std::uint32_t at_least = 0;
  std::vector<segment_id> segments;  // segment_count
  std::vector<std::string> strings;  // sorted
  std::vector<std::int32_t> ints;    // sorted
};

class rules_model final : public pricing::model {
 public:
  rules_model(money base, std::vector<compiled_rule> rules)
      : base_(base), rules_(std::move(rules)) {
    // Every rule with a multiplier above 1 matching at once; one micro covers the rounding.
    double most = 1.0;
    for (const compiled_rule& rule : rules_) most *= std::max(rule.multiplier, 1.0);
    const double top = base_.units() * most;
    ceiling_ = top < 1e9 ? money::from_micros(money::from_units(top).micros() + 1)
                         : money::from_micros(INT64_MAX);
    uses_audience_ = std::any_of(rules_.begin(), rules_.end(), [](const compiled_rule& r) {
      return r.kind == condition::segment || r.kind == condition::segment_count;
    });
  }

  pricing::quote price(const pricing::pricing_input& in) const noexcept override {
    double factor = 1.0;
    for (const compiled_rule& rule : rules_) {
      if (matches(rule, in)) factor *= rule.multiplier;
    }
    const money price = base_.scaled(factor);
    if (price.is_zero()) return pricing::quote::no_bid();
    return pricing::quote::bid(price);
  }
  money ceiling() const noexcept override { return ceiling_; }
  bool uses_audience() const noexcept override { return uses_audience_; }

 private:
  static bool matches(const compiled_rule& rule, const pricing::pricing_input& in) noexcept {
    const openrtb::bid_request& request = in.request;
    switch (rule.kind) {
      case condition::segment:
        return pricing::seen_within(pricing::find_segment(in.segments, rule.segment),
                                    rule.within_days, in.now);
      case condition::segment_count: {
        std::uint32_t count = 0;
        for (segment_id s : rule.segments) {
          if (pricing::find_segment(in.segments, s) != nullptr) ++count;
        }
        return count >= rule.at_least;
      }
      case condition::zip:
        return sorted_contains(rule.strings, request.zip);
      case condition::region:
        return sorted_contains(rule.strings, request.region);
      case condition::device_type:
        return std::binary_search(rule.ints.begin(), rule.ints.end(), request.devicetype);
      case condition::site_domain:
        return domain_listed(rule.strings, request.domain);
      case condition::category:
        for (std::string_view cat : request.content_cat) {
          if (sorted_contains(rule.strings, cat)) return true;
        }
        return false;
      case condition::hour_of_day:
        // The user's local hour when the request gives the offset, else UTC's.
        return std::binary_search(rule.ints.begin(), rule.ints.end(),
                                  pricing::local_hour(request, in.now));
    }
    return false;
  }

  money base_;
  money ceiling_;
  bool uses_audience_ = false;
  std::vector<compiled_rule> rules_;
};

class rules_factory final : public pricing::typed_factory<v1::RulesConfig> {
 public:
  rules_factory() : typed_factory("rules") {}

 protected:
  result<std::unique_ptr<pricing::model>> create_typed(
      const v1::RulesConfig& config, const pricing::create_context& ctx) const override {
    if (!(config.base_cpm() > 0) || !std::isfinite(config.base_cpm())) {
      return make_error(errc::invalid_config, "config.base_cpm: must be a number > 0");
    }
    std::vector<compiled_rule> compiled;
    for (int i = 0; i < config.rules_size(); ++i) {
      const v1::Rule& rule = config.rules(i);
      const std::string where = "config.rules[" + std::to_string(i) + "]";
      if (!(rule.multiplier() > 0) || !std::isfinite(rule.multiplier())) {
        return make_error(errc::invalid_config, where + ".multiplier: must be a number > 0");
      }
      compiled_rule c;
      c.multiplier = rule.multiplier();
      switch (rule.condition_case()) {
        case v1::Rule::kSegment:
          if (rule.segment().segment().empty()) {
            return make_error(errc::invalid_config, where + ".segment.segment: missing");
          }
          c.kind = condition::segment;
          c.segment = ctx.segments.intern(rule.segment().segment());
          c.within_days = rule.segment().within_days();
          break;
        case v1::Rule::kSegmentCount:
          if (rule.segment_count().segments().empty() || rule.segment_count().at_least() == 0) {
            return make_error(errc::invalid_config,
                              where + ".segment_count: needs segments and at_least > 0");
          }
          c.kind = condition::segment_count;
          for (const std::string& s : rule.segment_count().segments()) {
            c.segments.push_back(ctx.segments.intern(s));
          }
          // A segment listed twice must not count twice.
          std::sort(c.segments.begin(), c.segments.end());
          c.segments.erase(std::unique(c.segments.begin(), c.segments.end()), c.segments.end());
          c.at_least = rule.segment_count().at_least();
          break;
        case v1::Rule::kZipIn:
          c.kind = condition::zip;
          c.strings = sorted_list(rule.zip_in().values());
          break;
        case v1::Rule::kRegionIn:
          c.kind = condition::region;
          c.strings = sorted_list(rule.region_in().values());
          break;
        case v1::Rule::kDeviceTypeIn:
          c.kind = condition::device_type;
          c.ints.assign(rule.device_type_in().values().begin(),
                        rule.device_type_in().values().end());
          break;
        case v1::Rule::kSiteDomainIn:
          c.kind = condition::site_domain;
          c.strings = sorted_list(rule.site_domain_in().values(), &openrtb::canonical_domain);
          break;
        case v1::Rule::kCategoryIn:
          c.kind = condition::category;
          c.strings = sorted_list(rule.category_in().values(), &openrtb::canonical_code);
          break;
        case v1::Rule::kHourOfDayIn:
          c.kind = condition::hour_of_day;
          for (std::int32_t hour : rule.hour_of_day_in().values()) {
            if (hour < 0 || hour > 23) {
              return make_error(errc::invalid_config, where + ".hour_of_day_in: hours are 0 to 23");
            }
            c.ints.push_back(hour);
          }
          break;
        case v1::Rule::CONDITION_NOT_SET:
          return make_error(errc::invalid_config, where + ": no condition given");
      }
      std::sort(c.ints.begin(), c.ints.end());
      compiled.push_back(std::move(c));
    }
    return std::make_unique<rules_model>(money::from_units(config.base_cpm()), std::move(compiled));
  }
};

}  // namespace

std::unique_ptr<pricing::factory> make_factory() { return std::make_unique<rules_factory>(); }

}  // namespace bidder::models::rules
