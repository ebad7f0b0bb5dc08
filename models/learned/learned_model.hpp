// File: models/learned/learned_model.hpp
//
// The "learned" pricing model: the expected value of the impression as the bid, from a click
// model (and optionally a conversion model) trained by `bidder train` on the bidder's own
// event log (docs/learning.md), e.g.
//   "pricing": {"name": "learned", "config": {
//       "@type": "type.googleapis.com/bidder.models.learned.v1.LearnedConfig",
//       "click_model": "models/auto-intenders.click", "value_per_conversion": 7.0,
//       "conversion_model": "models/auto-intenders.conversion"}}
// The model files are read when the config is loaded; a reload reads them again, so a
// retrained model goes live with the next reload (atomically, with the rest of the config).
// A missing, damaged or mismatched file refuses the config, and the running one keeps
// serving.
#pragma once

#include <memory>

#include "bidder/pricing/factory.hpp"

namespace bidder::models::learned {

std::unique_ptr<pricing::factory> make_factory();

}  // namespace bidder::models::learned
