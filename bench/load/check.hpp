// File: bench/load/check.hpp
//
// `--check 'p99<5ms,miss=0'`: bounds on a run's figures for CI-style gates. A spec is a comma-
// separated list of `<metric><op><value>`; op is one of < <= > >= = == !=. Each metric has a
// kind that decides how its value is written:
//   latency  p50 p90 p99 p99.9 p99.99 max mean     a duration with a unit: 800us, 5ms, 1s
//   count    sent bids nobids 4xx 5xx other errors timeouts miss late unsent
//            (errors: connection errors; miss: answered after tmax from the send; late: after
//            tmax from the scheduled time)          an integer, e.g. 0, 10k
//   rate     rps (answers/s achieved), slo_rps (ramp: highest rate that held its SLO),
//            full_rps (ramp: highest that held without shedding, report.hpp)
//                                                   a number, optionally 50k or 50000/s
//   share    bid_share nobid_share error_share miss_share   0..1 or a percentage: 0.5, 50%
//
//   auto checks = parse_checks("p99<5ms,miss=0,rps>=40k");
//   if (!checks) fail(checks.error().message);   // names the bad term and what was expected
//   for (auto& o : evaluate_checks(*checks, metrics_of(result))) ... o.passed ...
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/load_runner.hpp"
#include "bidder/core/error.hpp"

namespace bidder::bench {

enum class metric_kind { latency, count, rate, share };
enum class check_op { less, less_equal, greater, greater_equal, equal, not_equal };

struct check {
  std::string metric;  // canonical name, e.g. "p99.9"
  metric_kind kind = metric_kind::count;
  check_op op = check_op::less;
  /// Latency bounds in nanoseconds, shares as 0..1, counts and rates as numbers.
  double bound = 0;
  std::string text;  // the term as written
};

/// Figures of a run by canonical metric name (latencies in ns).
using metric_values = std::map<std::string, double>;

/// Parses a spec. Errors: invalid_field naming the term and the problem, e.g.
/// "--check term 'p99<5': p99 is a latency and needs a unit (ns, us, ms, s), e.g. p99<5ms".
[[nodiscard]] result<std::vector<check>> parse_checks(std::string_view spec);

struct check_outcome {
  check bound;
  double actual = 0;
  bool known = true;  // false: the run has no such figure (e.g. slo_rps without --ramp)
  bool passed = false;
};

std::vector<check_outcome> evaluate_checks(const std::vector<check>& checks,
                                           const metric_values& values);

/// Every metric of a run (slo_rps and full_rps excepted: ramps add them).
metric_values metrics_of(const load_result& result);

/// The value formatted for its kind ("4.20 ms", "12", "50,000/s", "12.5 %").
std::string format_metric(metric_kind kind, double value);
std::string_view to_string(check_op op) noexcept;

}  // namespace bidder::bench
