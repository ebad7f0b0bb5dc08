// File: bench/load/report_parts.hpp
//
// The pieces of a bidbench report that its text and JSON forms (report.cpp) and its HTML form
// (report_html.cpp) share: the side-by-side rows of runs and ramps, their summaries, and the
// latency curve. Internal to bench/load.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "bench/load/report.hpp"

namespace bidder::bench::report_detail {

// One row of the side-by-side table: a label and one cell per run; `value` gives the number the
// ratio column divides (or a negative number for no ratio).
struct row {
  std::string label;
  std::vector<std::string> cells;
  std::vector<double> values;
};

std::string dur(std::chrono::nanoseconds d);
std::string ratio_text(double a, double b);
std::string cpu_line(const run_report& run);
std::vector<row> run_rows(const std::vector<const load_result*>& runs);
std::vector<row> ramp_rows(const ramp_report& ramp);
extern const std::vector<std::string> ramp_header;
std::string ramp_summary(const ramp_report& ramp);
/// The second reading of a ramp (find_best_without_shedding).
std::string shedding_summary(const ramp_report& ramp);
/// (percentile, latency in ns) points of `h`, the last at 100 % (the max).
std::vector<std::pair<double, double>> percentile_curve(const latency_histogram& h);

}  // namespace bidder::bench::report_detail
