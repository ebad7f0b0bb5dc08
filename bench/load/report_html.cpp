// bidbench's HTML report: the tables and the SVG charts (latency by percentile, latency and
// throughput by offered rate), one self-contained file.
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/report.hpp"
#include "bench/load/report_parts.hpp"
#include "bench/load/units.hpp"
#include "bidder/core/codec.hpp"

namespace bidder::bench {
namespace {

using namespace report_detail;
namespace json = boost::json;
using std::chrono::nanoseconds;

constexpr const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

struct series {
  std::string label;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
};

struct axis {
  double lo = 0;
  double hi = 1;
  bool log = false;
  std::vector<std::pair<double, std::string>> ticks;
};

std::string fmt(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

axis latency_axis(const std::vector<series>& all) {
  double lo = 1e18;
  double hi = 0;
  for (const auto& s : all) {
    for (const auto& [x, y] : s.points) {
      if (y > 0) lo = std::min(lo, y);
      hi = std::max(hi, y);
    }
  }
  if (hi <= 0) {
    lo = 1e3;
    hi = 1e6;
  }
  axis a;
  a.log = true;
  a.lo = std::pow(10.0, std::floor(std::log10(std::max(lo, 1.0))));
  a.hi = std::pow(10.0, std::ceil(std::log10(std::max(hi, a.lo * 10))));
  for (double t = a.lo; t <= a.hi * 1.0001; t *= 10) {
    a.ticks.emplace_back(t, format_duration(nanoseconds(static_cast<std::int64_t>(t))));
  }
  return a;
}

axis linear_axis(double lo, double hi, bool rate_labels) {
  axis a;
  a.lo = lo;
  if (hi <= lo) hi = lo + 1;
  const double raw = (hi - lo) / 6;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (magnitude * m >= raw) {
      step = magnitude * m;
      break;
    }
  }
  a.hi = std::ceil(hi / step) * step;
  for (double t = a.lo; t <= a.hi + step / 2; t += step) {
    a.ticks.emplace_back(t, rate_labels ? format_count(static_cast<std::uint64_t>(t)) : fmt(t));
  }
  return a;
}

std::string svg_chart(const std::string& title, const std::string& x_title,
                      const std::string& y_title, const axis& x, const axis& y,
                      const std::vector<series>& all,
                      const std::optional<std::pair<double, std::string>>& y_line = std::nullopt,
                      bool diagonal = false) {
  const double width = 760;
  const double height = 380;
  const double left = 80;
  const double right = 40;
  const double top = 36;
  const double bottom = 56;
  const double plot_w = width - left - right;
  const double plot_h = height - top - bottom;
  auto map = [](const axis& a, double v, double size) {
    double t = 0;
    if (a.log) {
      v = std::max(v, a.lo);
      t = (std::log10(v) - std::log10(a.lo)) / (std::log10(a.hi) - std::log10(a.lo));
    } else {
      t = (v - a.lo) / (a.hi - a.lo);
    }
    return std::clamp(t, 0.0, 1.0) * size;
  };
  auto px = [&](double v) { return left + map(x, v, plot_w); };
  auto py = [&](double v) { return top + plot_h - map(y, v, plot_h); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<text x=\"" << width / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">"
    << html_escaped(title) << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
    << plot_h << "\" fill=\"#fff\" stroke=\"#999\"/>\n";
  for (const auto& [v, label] : x.ticks) {
    s << "<line x1=\"" << fmt(px(v)) << "\" y1=\"" << top << "\" x2=\"" << fmt(px(v)) << "\" y2=\""
      << top + plot_h << "\" stroke=\"#eee\"/>";
    s << "<text x=\"" << fmt(px(v)) << "\" y=\"" << top + plot_h + 16
      << "\" text-anchor=\"middle\">" << html_escaped(label) << "</text>\n";
  }
  for (const auto& [v, label] : y.ticks) {
    s << "<line x1=\"" << left << "\" y1=\"" << fmt(py(v)) << "\" x2=\"" << left + plot_w
      << "\" y2=\"" << fmt(py(v)) << "\" stroke=\"#eee\"/>";
    s << "<text x=\"" << left - 6 << "\" y=\"" << fmt(py(v) + 4) << "\" text-anchor=\"end\">"
      << html_escaped(label) << "</text>\n";
  }
  s << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 12 << "\" text-anchor=\"middle\">"
    << html_escaped(x_title) << "</text>\n";
  s << "<text transform=\"translate(16," << top + plot_h / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << html_escaped(y_title) << "</text>\n";
  if (diagonal) {
    const double d = std::min(x.hi, y.hi);
    s << "<line x1=\"" << fmt(px(x.lo)) << "\" y1=\"" << fmt(py(y.lo)) << "\" x2=\"" << fmt(px(d))
      << "\" y2=\"" << fmt(py(d)) << "\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\n";
  }
  if (y_line) {
    s << "<line x1=\"" << left << "\" y1=\"" << fmt(py(y_line->first)) << "\" x2=\""
      << left + plot_w << "\" y2=\"" << fmt(py(y_line->first))
      << "\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>";
    s << "<text x=\"" << left + plot_w - 4 << "\" y=\"" << fmt(py(y_line->first) - 4)
      << "\" text-anchor=\"end\" fill=\"#d62728\">" << html_escaped(y_line->second) << "</text>\n";
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    const char* color = palette[i % std::size(palette)];
    if (all[i].points.empty()) continue;
    s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\""
      << (all[i].dashed ? " stroke-dasharray=\"5 3\"" : "") << " points=\"";
    for (const auto& [vx, vy] : all[i].points) s << fmt(px(vx)) << ',' << fmt(py(vy)) << ' ';
    s << "\"/>\n";
    for (const auto& [vx, vy] : all[i].points) {
      if (all[i].points.size() <= 40) {
        s << "<circle cx=\"" << fmt(px(vx)) << "\" cy=\"" << fmt(py(vy)) << "\" r=\"3\" fill=\""
          << color << "\"/>";
      }
    }
    // Legend.
    const double ly = top + 14 + 16 * static_cast<double>(i);
    s << "<rect x=\"" << left + 10 << "\" y=\"" << ly - 9 << "\" width=\"14\" height=\"4\" fill=\""
      << color << "\"/><text x=\"" << left + 30 << "\" y=\"" << ly - 3 << "\">"
      << html_escaped(all[i].label) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string html_table(const std::vector<std::string>& header, const std::vector<row>& rows,
                       bool ratio) {
  std::ostringstream s;
  s << "<table><tr>";
  for (const auto& h : header) s << "<th>" << html_escaped(h) << "</th>";
  if (ratio) s << "<th>ratio</th>";
  s << "</tr>\n";
  for (const row& r : rows) {
    s << "<tr><td>" << html_escaped(r.label) << "</td>";
    for (const auto& c : r.cells) s << "<td class=\"n\">" << html_escaped(c) << "</td>";
    if (ratio) {
      s << "<td class=\"n\">"
        << (r.values.size() == 2 && r.values[0] >= 0 ? ratio_text(r.values[0], r.values[1]) : "")
        << "</td>";
    }
    s << "</tr>\n";
  }
  s << "</table>\n";
  return s.str();
}

}  // namespace

std::string render_html(const bench_report& report) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bidbench report "
    << html_escaped(report.started_at) << "</title>\n<style>"
    << "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}"
    << "table{border-collapse:collapse;margin:8px 0 20px}"
    << "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
    << "th{background:#f3f3f3}td.n{text-align:right;font-family:monospace}"
    << ".pass{color:#2ca02c}.fail{color:#d62728;font-weight:bold}"
    << "</style></head><body>\n";
  s << "<h1>bidbench report</h1>\n<p>" << html_escaped(report.started_at) << " &middot; "
    << html_escaped(report.machine.cpu_model) << " (" << report.machine.cpus << " cpus, "
    << report.machine.memory_bytes / (1024 * 1024) << " MiB) &middot; "
    << html_escaped(report.machine.kernel) << " &middot; load average at start "
    << report.machine.load_average << " &middot; build " << html_escaped(report.build.build_type)
    << ", " << html_escaped(report.build.compiler);
  if (!report.build.commit.empty()) {
    s << ", commit " << html_escaped(report.build.commit.substr(0, 12))
      << (report.build.dirty ? " (with uncommitted changes)" : "");
  }
  s << "</p>\n";
  for (const auto& note : report.notes) s << "<p>" << html_escaped(note) << "</p>\n";
  s << "<details><summary>configuration</summary><pre>"
    << html_escaped(json::serialize(report.config)) << "</pre></details>\n";
  s << "<p>Latency is measured from each request's <em>scheduled</em> send time (open loop), so "
       "time spent waiting for a free connection while the server is slow is included "
       "(coordinated omission corrected); a request given up on counts at the time it was "
       "given up. <em>Service time</em> is measured from the actual "
       "send. A deadline miss is an answer that arrived more than the request's tmax after it "
       "was sent.</p>\n";

  // Latency curves: every run, plus each ramp's best and first failing step.
  std::vector<series> curves;
  for (const auto& run : report.runs)
    curves.push_back({run.label, percentile_curve(run.result.latency)});
  for (const auto& ramp : report.ramps) {
    if (ramp.best) {
      const auto& step = ramp.steps[*ramp.best];
      curves.push_back(
          {ramp.label + " @" + format_rate(static_cast<double>(step.rate)) + " (max held)",
           percentile_curve(step.result.latency)});
    }
    if (!ramp.steps.empty() && !ramp.steps.back().held) {
      const auto& step = ramp.steps.back();
      curves.push_back(
          {ramp.label + " @" + format_rate(static_cast<double>(step.rate)) + " (failed)",
           percentile_curve(step.result.latency), true});
    }
  }
  if (!curves.empty()) {
    axis x;
    x.lo = 0;
    double x_hi = 1;
    for (const auto& c : curves) {
      if (!c.points.empty()) x_hi = std::max(x_hi, c.points.back().first);
    }
    x.hi = x_hi;
    // Every curve's max (its last point) goes in the one "max" column at the right, however
    // many percentiles its count resolves.
    for (auto& c : curves) {
      if (!c.points.empty()) c.points.back().first = x.hi;
    }
    const char* labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"};
    for (int i = 0; i < static_cast<int>(x.hi) && i < 6; ++i) x.ticks.emplace_back(i, labels[i]);
    x.ticks.emplace_back(x.hi, "max");
    s << "<h2>Latency by percentile</h2>\n"
      << svg_chart("latency by percentile (log scale)", "percentile", "latency", x,
                   latency_axis(curves), curves);
  }

  if (!report.runs.empty()) {
    std::vector<std::string> header{"run"};
    std::vector<const load_result*> results;
    for (const auto& run : report.runs) {
      header.push_back(run.label);
      results.push_back(&run.result);
    }
    s << "<h2>Runs</h2>\n" << html_table(header, run_rows(results), results.size() == 2);
    s << "<p>CPU during the measured window (share of one CPU; per-CPU figures are "
         "tick-sampled):</p><ul>\n";
    for (const auto& run : report.runs) {
      s << "<li>" << html_escaped(run.label) << ": " << html_escaped(cpu_line(run)) << "</li>\n";
    }
    s << "</ul>\n";
  }

  if (!report.ramps.empty()) {
    std::vector<series> p99;
    std::vector<series> achieved;
    double max_rate = 0;
    nanoseconds slo{0};
    for (const auto& ramp : report.ramps) {
      series a{ramp.label, {}};
      series b{ramp.label, {}};
      // Bids (200) per second: answers include the 204s a loaded bidder sheds without an
      // auction, so where the two curves part, the bidder sheds.
      series bids{ramp.label + ": bids (200)", {}, true};
      std::uint64_t any_bids = 0;
      for (const auto& step : ramp.steps) {
        a.points.emplace_back(static_cast<double>(step.rate),
                              static_cast<double>(step.result.latency.percentile(99).count()));
        b.points.emplace_back(static_cast<double>(step.rate), step.result.achieved_rate);
        const double seconds = std::chrono::duration<double>(step.result.elapsed).count();
        bids.points.emplace_back(
            static_cast<double>(step.rate),
            seconds > 0 ? static_cast<double>(step.result.counts.bids) / seconds : 0.0);
        any_bids += step.result.counts.bids;
        max_rate = std::max({max_rate, static_cast<double>(step.rate), step.result.achieved_rate});
      }
      p99.push_back(std::move(a));
      achieved.push_back(std::move(b));
      if (any_bids > 0) achieved.push_back(std::move(bids));
      slo = ramp.slo_p99;
    }
    std::vector<series> with_slo = p99;
    with_slo.push_back({"", {{0, static_cast<double>(slo.count())}}});
    const axis y = latency_axis(with_slo);
    s << "<h2>Ramp</h2>\n"
      << svg_chart("p99 latency vs offered rate", "offered rate (requests/s)", "p99 latency",
                   linear_axis(0, max_rate, true), y, p99,
                   std::make_pair(static_cast<double>(slo.count()), "SLO p99 " + dur(slo)))
      << svg_chart("achieved vs offered rate", "offered rate (requests/s)", "answers/s",
                   linear_axis(0, max_rate, true), linear_axis(0, max_rate, true), achieved,
                   std::nullopt, true);
    for (const auto& ramp : report.ramps) {
      s << "<h3>" << html_escaped(ramp.label) << "</h3>\n"
        << html_table(ramp_header, ramp_rows(ramp), false) << "<p><b>"
        << html_escaped(ramp_summary(ramp)) << "</b><br>" << html_escaped(shedding_summary(ramp))
        << "</p>\n";
    }
  }

  if (!report.checks.empty()) {
    s << "<h2>Checks</h2>\n<ul>\n";
    for (const auto& c : report.checks) {
      const bool ok = c.known && c.passed;
      s << "<li class=\"" << (ok ? "pass" : "fail") << "\">" << (ok ? "PASS " : "FAIL ")
        << html_escaped(c.bound.text) << " (measured "
        << (c.known ? html_escaped(format_metric(c.bound.kind, c.actual)) : std::string("n/a"))
        << ")</li>\n";
    }
    s << "</ul>\n";
  }
  s << "</body></html>\n";
  return s.str();
}

result<void> write_html_report(const std::string& path, const bench_report& report) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(errc::io_error, path + ": cannot open for writing");
  out << render_html(report);
  out.flush();
  if (!out) return make_error(errc::io_error, path + ": write failed");
  return {};
}

}  // namespace bidder::bench
