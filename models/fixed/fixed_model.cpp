#include "models/fixed/fixed_model.hpp"

#include <cmath>

#include "bidder/pricing/typed_factory.hpp"
#include "models/fixed/fixed.pb.h"

namespace bidder::models::fixed {
namespace {

class fixed_model final : public pricing::model {
 public:
  explicit fixed_model(money cpm) : cpm_(cpm) {}
  pricing::quote price(const pricing::pricing_input&) const noexcept override {
    return pricing::quote::bid(cpm_);
  }
  money ceiling() const noexcept override { return cpm_; }

 private:
  money cpm_;
};

class fixed_factory final : public pricing::typed_factory<v1::FixedConfig> {
 public:
  fixed_factory() : typed_factory("fixed") {}

 protected:
  result<std::unique_ptr<pricing::model>> create_typed(
      const v1::FixedConfig& config, const pricing::create_context&) const override {
    if (!(config.cpm() > 0) || !std::isfinite(config.cpm())) {
      return make_error(errc::invalid_config, "config.cpm: must be a number > 0");
    }
    return std::make_unique<fixed_model>(money::from_units(config.cpm()));
  }
};

}  // namespace

std::unique_ptr<pricing::factory> make_factory() { return std::make_unique<fixed_factory>(); }

}  // namespace bidder::models::fixed
