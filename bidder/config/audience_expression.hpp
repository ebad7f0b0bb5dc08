// File: bidder/config/audience_expression.hpp
//
// A campaign's targeting.audience (config AudienceExpression) as an expression tree
// (expression/expression.hpp), checked: the loader validates with it, the snapshot compiles
// what it returns. Errors name the field under targeting.audience, e.g.
//   targeting.audience.all_of[1].expression.any_of[0].segment: missing
//
//   auto tree = config::audience_expression(campaign.targeting().audience());
#pragma once

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/error.hpp"
#include "bidder/expression/expression.hpp"

namespace bidder::config {

/// The checked tree of `audience`. Errors: invalid_config with the field's path (from
/// "targeting.audience"), for a bad or missing segment name, a condition with both or neither
/// of segment and expression, recency on a nested expression or above 36500 days, an empty
/// nested group, nesting deeper than expression::max_depth, more than
/// expression::max_conditions conditions.
[[nodiscard]] result<expression::group> audience_expression(const v1::AudienceExpression& audience);

}  // namespace bidder::config
