// File: bench/sim/bidder_report.hpp
//
// The bidder's own ROI report per experiment arm, read after a run. bidsim does not split users
// into arms (that is the bidder's secret-keyed hash), so what each arm earned comes from the
// bidder itself: GET /admin/report?group_by=arm&format=json on its admin port
// (bidder/report/report.hpp), whose rows are the arms ("experiment/arm", and "" for traffic in
// no arm) with spend, conversions, CPA, ROAS and their 95 % intervals, and whose
// arm_differences compare each pair of arms of an experiment.
//
//   std::string error;
//   auto report = fetch_arm_report(admin_url, token, run, std::chrono::seconds(10), error);
//   if (report) std::cout << arm_report_text(*report);
//
// The event log is written in the background (a few ms behind), so the fetch waits until the
// report holds the run's win notices and accepted conversions, or the wait runs out. The log
// holds every run since the bidder's data directory was made: give each run a fresh one.
//
// Thread-safety: plain functions.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "bench/sim/simulator.hpp"

namespace bidder::sim {

/// The report's query: one row per arm, as JSON.
inline constexpr const char* arm_report_target = "/admin/report?group_by=arm&format=json";

/// Reads the bidder's report by arm from `admin_url` (loopback only), polling until it counts
/// at least the run's "win 204" notices and accepted conversions, at most `wait`. nullopt and
/// `error` when the admin port cannot be reached, answers other than 200, or not JSON; a report
/// that is still short after `wait` is returned with error set to say so.
std::optional<boost::json::value> fetch_arm_report(const std::string& admin_url,
                                                   const std::string& admin_token,
                                                   const run_result& run,
                                                   std::chrono::milliseconds wait,
                                                   std::string& error);

/// The report's arm rows and arm differences as text tables, for bidsim's text report.
std::string arm_report_text(const boost::json::value& report);

}  // namespace bidder::sim
