// File: models/builtin.hpp
//
// The list of pricing models shipped with the bidder. Adding a model: a folder under models/
// with its proto, its factory and a CMakeLists.txt, then one line in builtin.cpp.
#pragma once

#include "bidder/core/error.hpp"
#include "bidder/pricing/registry.hpp"

namespace bidder::models {

/// Adds every built-in model to `registry`. Errors: duplicate (called twice on one registry).
[[nodiscard]] result<void> register_builtin_models(pricing::registry& registry);

}  // namespace bidder::models
