// File: bidder/http/campaign_diff.hpp
//
// What changed between two campaign sets, for GET /admin/revisions/{N}/diff (docs/console.md):
// per campaign id, "added", "removed" or "changed", and for a change each field that differs
// with its JSON before and after (nested objects are compared field by field, so a budget
// change reads "budget.daily"; lists compare whole).
#pragma once

#include <boost/json/array.hpp>
#include <vector>

#include "bidder/config/loader.hpp"

namespace bidder::http {

boost::json::array campaign_diff(const std::vector<config::v1::Campaign>& before,
                                 const std::vector<config::v1::Campaign>& after);

}  // namespace bidder::http
