// File: bench/sim/sim_report.hpp
//
// bidsim's reports of a set of runs on one market: a text table (per simulated day and per
// campaign, for each bidder, then the bidders side by side), the same figures as JSON, and a
// self-contained HTML page with inline SVG charts (no scripts, no external resources).
//
//   std::cout << text_report(s, runs);
//   write(json_path, boost::json::serialize(json_report(s, runs)));
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "bench/sim/market.hpp"
#include "bench/sim/simulator.hpp"

namespace bidder::sim {

std::string text_report(const scenario& s, const std::vector<run_result>& runs);
boost::json::object json_report(const scenario& s, const std::vector<run_result>& runs);
std::string html_report(const scenario& s, const std::vector<run_result>& runs);

}  // namespace bidder::sim
