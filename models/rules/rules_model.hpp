// File: models/rules/rules_model.hpp
//
// The "rules" pricing model: base CPM times the multiplier of every matching rule, e.g. the
// "affluent zip + recent car-site visit + old luxury car" campaign:
//   "config": {"@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig",
//              "base_cpm": 1.0,
//              "rules": [{"multiplier": 1.5, "zip_in": {"values": ["90210", "10021"]}},
//                        {"multiplier": 2.0, "segment": {"segment": "car-site-visitor",
//                                                         "within_days": 10}},
//                        {"multiplier": 1.3, "segment": {"segment": "old-luxury-car"}}]}
// The engine then caps the price at the campaign's max CPM and drops it below the floor.
#pragma once

#include <memory>

#include "bidder/pricing/factory.hpp"

namespace bidder::models::rules {

std::unique_ptr<pricing::factory> make_factory();

}  // namespace bidder::models::rules
