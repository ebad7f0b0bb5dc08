// File: bench/sim/scenario_json.hpp
//
// The scenario as a JSON file, so that a market can be changed without rebuilding bidsim:
// `bidsim --write-scenario FILE` writes the default (or the one given), `--scenario FILE` reads
// one. Every field of market.hpp's scenario, exchange_spec, site_spec and campaign_spec, under
// the same names; a campaign's "pricing" is the object that goes into the bidder's config.
// Unknown fields are refused (a typo must not silently leave a default in place); absent fields
// keep the default scenario's value for the top level, and the type's default inside a site,
// exchange or campaign.
//
//   std::string error;
//   auto s = scenario_from_json(text, error);   // nullopt: `error` names the field
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "bench/sim/market.hpp"

namespace bidder::sim {

std::string scenario_to_json(const scenario& s);
/// JSON text of `v` for people: numbers in plain decimal (no exponents), indented by `indent`
/// spaces per level from the second level on (0: one line).
std::string json_text(const boost::json::value& v, int indent = 0);
std::optional<scenario> scenario_from_json(std::string_view text, std::string& error);

}  // namespace bidder::sim
