// File: bidder/pricing/registry.hpp
//
// Pricing factories keyed by name. The app fills one with register_builtin_models()
// (models/builtin.hpp); tests build registries of fakes. Not thread-safe while being filled;
// read-only and thread-safe afterwards.
//
//   pricing::registry models;
//   models::register_builtin_models(models);
//   const pricing::factory* f = models.find("rules");
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/pricing/factory.hpp"

namespace bidder::pricing {

class registry {
 public:
  /// Errors: duplicate (a factory with that name exists), invalid_config (empty name).
  [[nodiscard]] result<void> add(std::unique_ptr<factory> f);
  /// nullptr when no factory has that name.
  const factory* find(std::string_view name) const noexcept;
  /// Every registered name, sorted.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<factory>, std::less<>> factories_;
};

}  // namespace bidder::pricing
