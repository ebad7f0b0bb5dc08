#include "models/builtin.hpp"

#include "models/fixed/fixed_model.hpp"
#include "models/learned/learned_model.hpp"
#include "models/rules/rules_model.hpp"

namespace bidder::models {

result<void> register_builtin_models(pricing::registry& registry) {
  // One line per model; no static self-registration (the linker may drop unreferenced ones).
  if (auto r = registry.add(fixed::make_factory()); !r) return r;
  if (auto r = registry.add(rules::make_factory()); !r) return r;
  if (auto r = registry.add(learned::make_factory()); !r) return r;
  return {};
}

}  // namespace bidder::models
