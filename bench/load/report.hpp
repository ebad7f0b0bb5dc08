// File: bench/load/report.hpp
//
// What a bidbench invocation measured, and its three renderings: a human table (stdout), JSON
// (`--json`, for bench/compare and archives) and a self-contained HTML page with inline SVG
// charts (`--html`: the latency-by-percentile curve of every run and, for ramps, p99 and
// achieved throughput against the offered rate).
//
//   bench_report report{.machine = describe_machine(), .build = describe_build()};
//   report.runs.push_back({"bidder", *result});
//   print_report(std::cout, report);
//   if (auto r = write_json_report("run.json", report); !r) fail(r.error().message);
//
// Thread-safety: pure functions over a report.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/load/check.hpp"
#include "bench/load/load_runner.hpp"
#include "bidder/core/error.hpp"

namespace bidder::bench {

struct machine_info {
  std::string hostname;
  std::string cpu_model;
  unsigned cpus = 0;
  std::string kernel;
  std::uint64_t memory_bytes = 0;
  /// 1-minute load average when bidbench started (includes earlier runs of a sequence; on an
  /// otherwise idle machine it stays near 0 before the first one).
  double load_average = 0;
};

struct build_info {
  std::string build_type;  // CMAKE_BUILD_TYPE of bidbench itself
  std::string compiler;
  std::string commit;  // "" when unknown
  bool dirty = false;  // uncommitted changes in tracked files
};

/// Reads /proc and uname. Never fails; unknown fields stay empty.
machine_info describe_machine();
/// The build type and compiler bidbench was built with and the source tree's git commit (asked
/// of git at run time; the commit at configure time when git is unavailable).
build_info describe_build();

struct run_report {
  std::string label;  // "floor", "target", "half rate", ...
  load_result result;
  /// The server ran inside bidbench (the built-in floor): bidbench's CPU figure includes it.
  bool server_in_process = false;
};

struct ramp_step {
  std::uint64_t rate = 0;
  load_result result;
  bool held = false;
  std::string verdict;  // "held", "p99 8.1 ms > SLO 5 ms", "12 timeouts", ...
};

struct ramp_report {
  std::string label;
  std::chrono::nanoseconds slo_p99{0};
  std::vector<ramp_step> steps;
  /// Index of the highest step that held (steps stop at the first that did not).
  std::optional<std::size_t> best;
};

struct bench_report {
  std::string started_at;  // ISO-8601 UTC
  machine_info machine;
  build_info build;
  /// The invocation's settings, as given (target, rate, duration, workload...).
  boost::json::object config;
  std::vector<run_report> runs;
  std::vector<ramp_report> ramps;
  std::vector<check_outcome> checks;
  /// Free-form notes shown at the top (e.g. "server pinned to CPU 0").
  std::vector<std::string> notes;
};

/// Decides whether a ramp step held: p99 within the SLO; no connection error, timeout, 5xx,
/// unexpected status (1xx, 3xx, a 2xx but 200/204) or unsent request; and a share of 4xx
/// answers of at most `client_error_share_allowed` (0 unless the traffic holds requests meant
/// to be refused). Sets held and verdict.
void judge_step(ramp_step& step, std::chrono::nanoseconds slo_p99,
                double client_error_share_allowed = 0.0);

/// A 204 share this far above the first step's counts as shedding (one point).
inline constexpr double shedding_margin = 0.01;

/// The highest step that held with a 204 share within shedding_margin of the first step's.
/// A bidder under overload answers part of its requests with a 204 without an auction, and a
/// step where it did still "held"; the first (lowest-rate) step's 204s are the traffic's own
/// no-bids, so the share above them is what was shed. nullopt when no step qualifies.
std::optional<std::size_t> find_best_without_shedding(const ramp_report& ramp) noexcept;

/// The share of a run's answers that were 204 (0 when none was answered).
double no_bid_share(const load_counts& counts) noexcept;

/// The share of a run's answers that were 4xx (0 when none was answered).
double client_error_share(const load_counts& counts) noexcept;

/// The metrics --check evaluates: those of the last run, or, when the invocation ramped, of the
/// last ramp's best step plus slo_rps and full_rps (0 when no step held).
metric_values report_metrics(const bench_report& report);

void print_report(std::ostream& out, const bench_report& report);
void print_ramp_step(std::ostream& out, const ramp_step& step);

boost::json::object to_json(const bench_report& report);
[[nodiscard]] result<void> write_json_report(const std::string& path, const bench_report& report);

std::string render_html(const bench_report& report);
[[nodiscard]] result<void> write_html_report(const std::string& path, const bench_report& report);

}  // namespace bidder::bench
