#include "bench/load/report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include "bench/load/report_parts.hpp"
#include "bench/load/units.hpp"
#include "bidder/core/build_info.hpp"

#ifndef BIDBENCH_BUILD_TYPE
#define BIDBENCH_BUILD_TYPE "unknown"
#endif

namespace bidder::bench {
namespace report_detail {

namespace json = boost::json;
using std::chrono::nanoseconds;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && s[start] == ' ') ++start;
  return s.substr(start);
}

std::string dur(nanoseconds d) { return format_duration(d); }

double pct(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::string percent_text(std::uint64_t part, std::uint64_t whole) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %%", pct(part, whole));
  return buffer;
}

// "server 62% (12.4 us/request), bidbench 40%, cpus 63% 41%" (steal when there was any).
std::string cpu_text(const load_result& r) {
  const cpu_usage& u = r.cpu;
  if (u.seconds <= 0) return "n/a";
  std::string text;
  char buffer[96];
  if (u.server >= 0) {
    const double answered = static_cast<double>(r.counts.answered());
    const double per_request =
        answered > 0 ? u.server * u.seconds / answered * 1e6 : 0;  // approximate: same window
    std::snprintf(buffer, sizeof buffer, "server %.0f%% (%.1f us/req), ", 100 * u.server,
                  per_request);
    text += buffer;
  }
  std::snprintf(buffer, sizeof buffer, "bidbench %.0f%%", 100 * u.own);
  text += buffer;
  if (!u.busy.empty()) {
    text += ", cpus";
    for (double b : u.busy) {
      std::snprintf(buffer, sizeof buffer, " %.0f%%", 100 * b);
      text += buffer;
    }
  }
  if (u.steal >= 0.005) {
    std::snprintf(buffer, sizeof buffer, ", steal %.1f%%", 100 * u.steal);
    text += buffer;
  }
  return text;
}

std::string cpu_line(const run_report& run) {
  std::string text = cpu_text(run.result);
  if (run.server_in_process) text += " (the built-in floor runs inside bidbench)";
  return text;
}

std::string offered_text(const load_result& r) {
  return r.offered_rate == 0 ? std::string("max (closed loop)")
                             : format_rate(static_cast<double>(r.offered_rate));
}

std::string ratio_text(double a, double b) {
  if (a <= 0 || b <= 0) return "";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fx", b / a);
  return buffer;
}

std::vector<row> run_rows(const std::vector<const load_result*>& runs) {
  std::vector<row> rows;
  auto add = [&](std::string label, auto cell, auto value) {
    row r{std::move(label), {}, {}};
    for (const load_result* run : runs) {
      r.cells.push_back(cell(*run));
      r.values.push_back(value(*run));
    }
    rows.push_back(std::move(r));
  };
  auto latency_row = [&](std::string label, double p) {
    add(
        std::move(label), [p](const load_result& r) { return dur(r.latency.percentile(p)); },
        [p](const load_result& r) { return static_cast<double>(r.latency.percentile(p).count()); });
  };
  auto count_row = [&](std::string label, std::uint64_t load_counts::*field) {
    add(
        std::move(label),
        [field](const load_result& r) {
          const std::uint64_t n = r.counts.*field;
          std::string text = format_count(n);
          // Shares of what was sent; unsent requests are a share of what was scheduled.
          const std::uint64_t whole =
              field == &load_counts::unsent ? r.counts.scheduled : r.counts.sent;
          if (field != &load_counts::sent && whole > 0) {
            text += " (" + percent_text(n, whole) + ")";
          }
          return text;
        },
        [](const load_result&) { return -1.0; });
  };
  add(
      "offered rate", [](const load_result& r) { return offered_text(r); },
      [](const load_result& r) { return static_cast<double>(r.offered_rate); });
  add(
      "achieved (answers/s)", [](const load_result& r) { return format_rate(r.achieved_rate); },
      [](const load_result& r) { return r.achieved_rate; });
  add(
      "connections", [](const load_result& r) { return std::to_string(r.connections); },
      [](const load_result&) { return -1.0; });
  latency_row("latency p50", 50);
  latency_row("latency p90", 90);
  latency_row("latency p99", 99);
  latency_row("latency p99.9", 99.9);
  latency_row("latency p99.99", 99.99);
  add(
      "latency max", [](const load_result& r) { return dur(r.latency.max()); },
      [](const load_result& r) { return static_cast<double>(r.latency.max().count()); });
  add(
      "latency mean", [](const load_result& r) { return dur(r.latency.mean()); },
      [](const load_result& r) { return static_cast<double>(r.latency.mean().count()); });
  add(
      "service time p99 (from send)",
      [](const load_result& r) { return dur(r.service_time.percentile(99)); },
      [](const load_result& r) {
        return static_cast<double>(r.service_time.percentile(99).count());
      });
  add(
      "send lag p99 (queued)", [](const load_result& r) { return dur(r.send_lag.percentile(99)); },
      [](const load_result&) { return -1.0; });
  count_row("sent", &load_counts::sent);
  count_row("200 bid", &load_counts::bids);
  count_row("204 no-bid", &load_counts::no_bids);
  count_row("4xx", &load_counts::client_errors);
  count_row("5xx", &load_counts::server_errors);
  count_row("other status", &load_counts::other_status);
  count_row("connection errors", &load_counts::connection_errors);
  count_row("resent (idle connection closed)", &load_counts::resent);
  count_row("timeouts", &load_counts::timeouts);
  count_row("deadline misses (tmax from send)", &load_counts::deadline_misses);
  count_row("late (tmax from schedule)", &load_counts::schedule_misses);
  count_row("unsent (still queued at the end)", &load_counts::unsent);
  return rows;
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<row>& rows, bool ratio) {
  std::vector<std::size_t> width(header.size() + (ratio ? 1 : 0), 0);
  auto cell_count = header.size();
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  std::vector<std::vector<std::string>> lines;
  for (const row& r : rows) {
    std::vector<std::string> line{r.label};
    for (const auto& c : r.cells) line.push_back(c);
    if (ratio) {
      line.push_back(r.values.size() == 2 && r.values[0] >= 0 ? ratio_text(r.values[0], r.values[1])
                                                              : "");
    }
    lines.push_back(std::move(line));
  }
  if (ratio) width[cell_count] = 5;
  for (const auto& line : lines) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (i == 0) {
        out << std::left << std::setw(static_cast<int>(width[i])) << line[i];
      } else {
        out << "  " << std::right << std::setw(static_cast<int>(width[i])) << line[i];
      }
    }
    out << '\n';
  };
  std::vector<std::string> head = header;
  if (ratio) head.push_back("ratio");
  print_line(head);
  std::size_t total = 0;
  for (std::size_t w : width) total += w + 2;
  out << std::string(total > 2 ? total - 2 : 0, '-') << '\n';
  for (const auto& line : lines) print_line(line);
}

json::object histogram_json(const latency_histogram& h) {
  auto ns = [](nanoseconds d) { return d.count(); };
  json::object o;
  o["count"] = h.count();
  o["min_ns"] = ns(h.min());
  o["mean_ns"] = ns(h.mean());
  o["p50_ns"] = ns(h.percentile(50));
  o["p90_ns"] = ns(h.percentile(90));
  o["p99_ns"] = ns(h.percentile(99));
  o["p99_9_ns"] = ns(h.percentile(99.9));
  o["p99_99_ns"] = ns(h.percentile(99.99));
  o["max_ns"] = ns(h.max());
  return o;
}

// The latency-by-percentile curve: x = log10(1 / (1 - p)), so 90 % -> 1, 99 % -> 2 ... up to
// the finest percentile the count resolves (at most 99.999 %), then the max, last, one step
// further on (floor of the last x, plus 1), where charts label it "max".
std::vector<std::pair<double, double>> percentile_curve(const latency_histogram& h) {
  std::vector<std::pair<double, double>> points;
  if (h.count() == 0) return points;
  const double x_max = std::min(5.0, std::log10(static_cast<double>(h.count())));
  for (double x = 0; x <= x_max + 1e-9; x += 0.05) {
    const double p = 100.0 * (1.0 - std::pow(10.0, -x));
    points.emplace_back(x, static_cast<double>(h.percentile(p).count()));
  }
  points.emplace_back(std::floor(x_max + 1e-9) + 1, static_cast<double>(h.max().count()));
  return points;
}

json::object result_json(const std::string& label, const load_result& r) {
  const load_counts& n = r.counts;
  json::object o;
  o["label"] = label;
  o["offered_rate"] = r.offered_rate;
  o["closed_loop"] = r.offered_rate == 0;
  o["connections"] = r.connections;
  o["elapsed_s"] = std::chrono::duration<double>(r.elapsed).count();
  o["achieved_rate"] = r.achieved_rate;
  json::object counts;
  counts["scheduled"] = n.scheduled;
  counts["sent"] = n.sent;
  counts["bids_200"] = n.bids;
  counts["no_bids_204"] = n.no_bids;
  counts["client_errors_4xx"] = n.client_errors;
  counts["server_errors_5xx"] = n.server_errors;
  counts["other_status"] = n.other_status;
  counts["connection_errors"] = n.connection_errors;
  counts["timeouts"] = n.timeouts;
  counts["deadline_misses"] = n.deadline_misses;
  counts["schedule_misses"] = n.schedule_misses;
  counts["unsent"] = n.unsent;
  counts["connects"] = n.connects;
  counts["connect_failures"] = n.connect_failures;
  counts["resent"] = n.resent;
  o["counts"] = std::move(counts);
  o["latency"] = histogram_json(r.latency);
  o["service_time"] = histogram_json(r.service_time);
  o["send_lag"] = histogram_json(r.send_lag);
  json::array curve;  // [percent, ns] pairs; the last is the max, at 100 %
  const auto points = percentile_curve(r.latency);
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto [x, y] = points[i];
    const double percent = i + 1 == points.size()
                               ? 100.0
                               : std::round((100.0 * (1.0 - std::pow(10.0, -x))) * 1e4) / 1e4;
    curve.push_back(json::array{percent, static_cast<std::int64_t>(y)});
  }
  o["latency_curve"] = std::move(curve);
  o["bytes_sent"] = r.bytes_sent;
  o["bytes_received"] = r.bytes_received;
  if (!r.last_error.empty()) o["last_error"] = r.last_error;
  json::object cpu;
  json::array busy;
  for (double b : r.cpu.busy) busy.push_back(b);
  cpu["busy_per_cpu_tick_sampled"] = std::move(busy);
  cpu["steal"] = r.cpu.steal;
  cpu["bidbench"] = r.cpu.own;
  cpu["window_s"] = r.cpu.seconds;
  if (r.cpu.server >= 0) {
    cpu["server"] = r.cpu.server;
    if (r.counts.answered() > 0) {
      cpu["server_us_per_request"] =
          r.cpu.server * r.cpu.seconds / static_cast<double>(r.counts.answered()) * 1e6;
    }
  }
  o["cpu"] = std::move(cpu);
  json::object metrics;
  for (const auto& [name, value] : metrics_of(r)) metrics[name] = value;
  o["metrics"] = std::move(metrics);
  return o;
}

std::vector<row> ramp_rows(const ramp_report& ramp) {
  std::vector<row> rows;
  for (const ramp_step& step : ramp.steps) {
    const load_result& r = step.result;
    row line{format_rate(static_cast<double>(step.rate)), {}, {}};
    line.cells = {format_rate(r.achieved_rate),
                  dur(r.latency.percentile(50)),
                  dur(r.latency.percentile(99)),
                  dur(r.latency.percentile(99.9)),
                  dur(r.latency.max()),
                  percent_text(r.counts.no_bids, r.counts.answered()),
                  format_count(r.counts.connection_errors + r.counts.timeouts +
                               r.counts.server_errors + r.counts.unsent),
                  format_count(r.counts.deadline_misses),
                  cpu_text(r),
                  step.verdict};
    rows.push_back(std::move(line));
  }
  return rows;
}

const std::vector<std::string> ramp_header{"offered", "achieved", "p50",       "p99",
                                           "p99.9",   "max",      "204 share", "errors",
                                           "misses",  "CPU",      "verdict"};

std::string ramp_summary(const ramp_report& ramp) {
  std::string text = ramp.label + ": max throughput under p99 <= " + dur(ramp.slo_p99) + ": ";
  if (!ramp.best) return text + "none (the first step already failed)";
  const ramp_step& best = ramp.steps[*ramp.best];
  text += format_rate(static_cast<double>(best.rate)) + " offered, " +
          format_rate(best.result.achieved_rate) + " achieved, p99 " +
          dur(best.result.latency.percentile(99));
  if (*ramp.best + 1 == ramp.steps.size()) text += " (every step held: raise --ramp's TO)";
  return text;
}

// The second reading of a ramp (find_best_without_shedding).
std::string shedding_summary(const ramp_report& ramp) {
  std::string text = ramp.label + ": ... without shedding (204 share within " +
                     std::to_string(static_cast<int>(shedding_margin * 100)) +
                     " point of the first step's";
  if (!ramp.steps.empty())
    text += " " + percent_text(ramp.steps.front().result.counts.no_bids,
                               ramp.steps.front().result.counts.answered());
  text += "): ";
  const std::optional<std::size_t> best = find_best_without_shedding(ramp);
  if (!best) return text + "none";
  const ramp_step& full = ramp.steps[*best];
  return text + format_rate(static_cast<double>(full.rate)) + " offered, p99 " +
         dur(full.result.latency.percentile(99));
}

}  // namespace report_detail

using namespace report_detail;

machine_info describe_machine() {
  machine_info m;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) m.hostname = host;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      m.cpu_model = trim(line.substr(line.find(':') + 1));
      break;
    }
  }
  m.cpus = std::thread::hardware_concurrency();
  struct utsname u {};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::ifstream loadavg("/proc/loadavg");
  loadavg >> m.load_average;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (line.rfind("MemTotal:", 0) == 0) {
      m.memory_bytes = std::stoull(line.substr(9)) * 1024;
      break;
    }
  }
  return m;
}

build_info describe_build() {
  build_info b;
  b.build_type = BIDBENCH_BUILD_TYPE;
#if defined(__clang__)
  b.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  b.compiler = "g++ " __VERSION__;
#endif
  // Built in (bidder/core/build_info.hpp): a copy of the binary still names its own source,
  // where asking git at run time named whatever the tree held then.
  b.commit = std::string(build_commit());
  b.dirty = build_dirty();
  return b;
}

namespace {
// `part` as a share of the answers of a run (0 when none was answered).
double answered_share(std::uint64_t part, const load_counts& counts) noexcept {
  const std::uint64_t answered = counts.answered();
  return answered == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(answered);
}
}  // namespace

double client_error_share(const load_counts& counts) noexcept {
  return answered_share(counts.client_errors, counts);
}

double no_bid_share(const load_counts& counts) noexcept {
  return answered_share(counts.no_bids, counts);
}

std::optional<std::size_t> find_best_without_shedding(const ramp_report& ramp) noexcept {
  if (ramp.steps.empty()) return std::nullopt;
  const double own_share = no_bid_share(ramp.steps.front().result.counts);
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < ramp.steps.size(); ++i) {
    const ramp_step& step = ramp.steps[i];
    if (step.held && no_bid_share(step.result.counts) <= own_share + shedding_margin + 1e-12) {
      best = i;
    }
  }
  return best;
}

void judge_step(ramp_step& step, nanoseconds slo_p99, double client_error_share_allowed) {
  const load_counts& n = step.result.counts;
  const nanoseconds p99 = step.result.latency.percentile(99);
  std::vector<std::string> problems;
  if (p99 > slo_p99) problems.push_back("p99 " + dur(p99) + " > " + dur(slo_p99));
  if (n.connection_errors > 0) problems.push_back(format_count(n.connection_errors) + " errors");
  if (n.timeouts > 0) problems.push_back(format_count(n.timeouts) + " timeouts");
  if (n.server_errors > 0) problems.push_back(format_count(n.server_errors) + " 5xx");
  // A bidder refusing requests under load (429, 503-like 4xx) is not holding the rate.
  if (n.client_errors > 0 && client_error_share(n) > client_error_share_allowed + 1e-9) {
    problems.push_back(format_count(n.client_errors) + " 4xx");
  }
  if (n.other_status > 0) problems.push_back(format_count(n.other_status) + " other statuses");
  if (n.unsent > 0) problems.push_back(format_count(n.unsent) + " unsent");
  if (n.answered() == 0) problems.push_back("no answer");
  step.held = problems.empty();
  if (step.held) {
    step.verdict = "held";
  } else {
    step.verdict.clear();
    for (const auto& p : problems) step.verdict += (step.verdict.empty() ? "" : ", ") + p;
  }
}

metric_values report_metrics(const bench_report& report) {
  if (!report.ramps.empty()) {
    const ramp_report& ramp = report.ramps.back();
    metric_values v;
    if (ramp.best) v = metrics_of(ramp.steps[*ramp.best].result);
    v["slo_rps"] = ramp.best ? static_cast<double>(ramp.steps[*ramp.best].rate) : 0.0;
    const std::optional<std::size_t> full = find_best_without_shedding(ramp);
    v["full_rps"] = full ? static_cast<double>(ramp.steps[*full].rate) : 0.0;
    return v;
  }
  if (!report.runs.empty()) return metrics_of(report.runs.back().result);
  return {};
}

void print_ramp_step(std::ostream& out, const ramp_step& step) {
  const load_result& r = step.result;
  out << "  " << std::setw(12) << format_rate(static_cast<double>(step.rate)) << "  achieved "
      << std::setw(10) << format_rate(r.achieved_rate) << "  p50 " << std::setw(8)
      << dur(r.latency.percentile(50)) << "  p99 " << std::setw(8) << dur(r.latency.percentile(99))
      << "  p99.9 " << std::setw(8) << dur(r.latency.percentile(99.9)) << "  204 " << std::setw(7)
      << percent_text(r.counts.no_bids, r.counts.answered()) << "  " << cpu_text(r) << "  "
      << step.verdict << std::endl;
}

void print_report(std::ostream& out, const bench_report& report) {
  out << "bidbench  " << report.started_at << "  " << report.machine.cpu_model << " ("
      << report.machine.cpus << " cpus)  build " << report.build.build_type;
  if (!report.build.commit.empty()) {
    out << "  commit " << report.build.commit.substr(0, 12) << (report.build.dirty ? "+dirty" : "");
  }
  out << "  load average at start " << report.machine.load_average << '\n';
  for (const auto& note : report.notes) out << "  " << note << '\n';
  if (!report.runs.empty()) {
    out << '\n';
    std::vector<std::string> header{"run"};
    std::vector<const load_result*> results;
    for (const auto& run : report.runs) {
      header.push_back(run.label);
      results.push_back(&run.result);
    }
    print_table(out, header, run_rows(results), results.size() == 2);
    out << "\nCPU during the measured window (share of one CPU; per-CPU figures are "
           "tick-sampled):\n";
    for (const auto& run : report.runs) out << "  " << run.label << ": " << cpu_line(run) << '\n';
  }
  for (const auto& ramp : report.ramps) {
    out << "\nramp: " << ramp.label << " (SLO p99 <= " << dur(ramp.slo_p99) << ")\n";
    print_table(out, ramp_header, ramp_rows(ramp), false);
    out << ramp_summary(ramp) << '\n' << shedding_summary(ramp) << '\n';
  }
  if (report.ramps.size() == 2) {
    const auto& a = report.ramps[0];
    const auto& b = report.ramps[1];
    if (a.best && b.best) {
      out << b.label << " / " << a.label << " max throughput: "
          << ratio_text(static_cast<double>(a.steps[*a.best].rate),
                        static_cast<double>(b.steps[*b.best].rate))
          << '\n';
    }
  }
  if (!report.checks.empty()) {
    out << "\nchecks:\n";
    for (const auto& c : report.checks) {
      out << "  " << (c.known ? (c.passed ? "PASS" : "FAIL") : "FAIL") << "  " << c.bound.text;
      if (c.known) {
        out << "  (measured " << format_metric(c.bound.kind, c.actual) << ")";
      } else {
        out << "  (this run has no " << c.bound.metric << ")";
      }
      out << '\n';
    }
  }
}

json::object to_json(const bench_report& report) {
  json::object o;
  o["tool"] = "bidbench";
  o["format"] = 1;
  o["started_at"] = report.started_at;
  json::object machine;
  machine["hostname"] = report.machine.hostname;
  machine["cpu_model"] = report.machine.cpu_model;
  machine["cpus"] = report.machine.cpus;
  machine["kernel"] = report.machine.kernel;
  machine["memory_bytes"] = report.machine.memory_bytes;
  machine["load_average_1m"] = report.machine.load_average;
  o["machine"] = std::move(machine);
  json::object build;
  build["type"] = report.build.build_type;
  build["compiler"] = report.build.compiler;
  build["commit"] = report.build.commit;
  build["dirty"] = report.build.dirty;
  o["build"] = std::move(build);
  o["config"] = report.config;
  json::array notes;
  for (const auto& n : report.notes) notes.push_back(json::string(n));
  o["notes"] = std::move(notes);
  json::array runs;
  for (const auto& run : report.runs) runs.push_back(result_json(run.label, run.result));
  o["runs"] = std::move(runs);
  json::array ramps;
  for (const auto& ramp : report.ramps) {
    json::object r;
    r["label"] = ramp.label;
    r["slo_p99_ns"] = ramp.slo_p99.count();
    json::array steps;
    for (const auto& step : ramp.steps) {
      json::object s = result_json(ramp.label + " @" + std::to_string(step.rate), step.result);
      s["rate"] = step.rate;
      s["held"] = step.held;
      s["verdict"] = step.verdict;
      steps.push_back(std::move(s));
    }
    r["steps"] = std::move(steps);
    if (ramp.best) {
      r["max_rate_under_slo"] = ramp.steps[*ramp.best].rate;
      r["achieved_at_max"] = ramp.steps[*ramp.best].result.achieved_rate;
    } else {
      r["max_rate_under_slo"] = nullptr;
    }
    if (const std::optional<std::size_t> best = find_best_without_shedding(ramp)) {
      const ramp_step& full = ramp.steps[*best];
      r["max_rate_without_shedding"] = full.rate;
      r["achieved_at_max_without_shedding"] = full.result.achieved_rate;
    } else {
      r["max_rate_without_shedding"] = nullptr;
    }
    r["shedding_margin"] = shedding_margin;
    ramps.push_back(std::move(r));
  }
  o["ramps"] = std::move(ramps);
  json::array checks;
  for (const auto& c : report.checks) {
    json::object j;
    j["check"] = c.bound.text;
    j["metric"] = c.bound.metric;
    j["bound"] = c.bound.bound;
    j["actual"] = c.known ? json::value(c.actual) : json::value(nullptr);
    j["passed"] = c.known && c.passed;
    checks.push_back(std::move(j));
  }
  o["checks"] = std::move(checks);
  return o;
}

result<void> write_json_report(const std::string& path, const bench_report& report) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(errc::io_error, path + ": cannot open for writing");
  out << json::serialize(to_json(report)) << '\n';
  out.flush();
  if (!out) return make_error(errc::io_error, path + ": write failed");
  return {};
}

}  // namespace bidder::bench
