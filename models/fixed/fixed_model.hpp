// File: models/fixed/fixed_model.hpp
//
// The "fixed" pricing model: every impression is worth the same CPM.
//   "pricing": {"name": "fixed",
//               "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig",
//                          "cpm": 1.5}}
#pragma once

#include <memory>

#include "bidder/pricing/factory.hpp"

namespace bidder::models::fixed {

std::unique_ptr<pricing::factory> make_factory();

}  // namespace bidder::models::fixed
