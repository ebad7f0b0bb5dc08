// File: bidder/config/audience_events.hpp
//
// Validation of the config's `audience_events` (browsing events: sources, segment pixels,
// rules; docs/audience-events.md), called by the loader. Every error names its field, e.g.
//   audience_events.rules[2].url_prefixes[0]: include a path ("host/" at least) ...
#pragma once

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/error.hpp"

namespace bidder::config {

/// Longest action name (`page_view`, `purchase`, ...).
inline constexpr std::size_t max_event_action_bytes = 64;

/// Errors: invalid_config naming the field.
[[nodiscard]] result<void> check_audience_events(const v1::AudienceEvents& events);

}  // namespace bidder::config
