// File: bench/sim/sim_report.cpp
#include "bench/sim/sim_report.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "bench/sim/scenario_json.hpp"
#include "bidder/core/build_info.hpp"
#include "bidder/core/codec.hpp"

namespace bidder::sim {
namespace json = boost::json;
namespace {

std::string money_text(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string ratio_text(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::vector<std::string> cells(const std::string& label, const tally& t) {
  const double win_rate = t.bids ? 100.0 * static_cast<double>(t.wins) / double(t.bids) : 0;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f%%", win_rate);
  return {label,
          std::to_string(t.requests),
          std::to_string(t.bids),
          std::to_string(t.wins),
          rate,
          money_text(t.spend),
          std::to_string(t.clicks),
          std::to_string(t.conversions),
          money_text(t.value),
          t.conversions ? money_text(t.cpa()) : "-",
          t.spend > 0 ? ratio_text(t.roas()) : "-",
          money_text(t.surplus()),
          money_text(t.expected_value - t.spend),
          money_text(t.expected_conversions),
          t.spend > 0 ? ratio_text(t.expected_conversions_per_spend()) : "-"};
}

const std::vector<std::string> header{
    "",      "requests", "bids", "wins",    "win%",         "spend",      "clicks",      "conv.",
    "value", "CPA",      "ROAS", "surplus", "exp. surplus", "exp. conv.", "exp. conv./$"};

void print_table(std::ostringstream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      const std::string pad(width[i] - r[i].size(), ' ');
      out << (i == 0 ? r[i] + pad : pad + r[i]) << (i + 1 < r.size() ? "  " : "\n");
    }
  }
}

json::object tally_json(const tally& t) {
  return {{"requests", t.requests},
          {"bids", t.bids},
          {"wins", t.wins},
          {"spend", t.spend},
          {"impressions", t.wins},
          {"clicks", t.clicks},
          {"conversions", t.conversions},
          {"value", t.value},
          {"cpa", t.cpa()},
          {"roas", t.roas()},
          {"surplus", t.surplus()},
          {"expected_value", t.expected_value},
          {"expected_surplus", t.expected_value - t.spend},
          {"expected_conversions", t.expected_conversions},
          {"expected_conversions_per_spend", t.expected_conversions_per_spend()}};
}

constexpr const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A line chart of one value per simulated day, one line per run; the days are labelled from
// `first_day` (the scenario's start_day).
std::string day_chart(const std::string& title, const std::vector<run_result>& runs,
                      double (*value)(const tally&), std::uint32_t first_day) {
  const double w = 720, h = 300, left = 70, right = 20, top = 34, bottom = 44;
  double lo = 0, hi = 0;
  std::size_t days = 0;
  for (const run_result& r : runs) {
    days = std::max(days, r.days.size());
    for (const tally& t : r.days) lo = std::min(lo, value(t)), hi = std::max(hi, value(t));
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  const double pad = (hi - lo) * 0.05;
  hi += pad;
  if (lo < 0) lo -= pad;
  auto px = [&](double d) {
    return left + (days > 1 ? d / double(days - 1) : 0.5) * (w - left - right);
  };
  auto py = [&](double v) { return top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<text x=\"" << w / 2
    << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << html_escaped(title) << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << w - left - right
    << "\" height=\"" << h - top - bottom << "\" fill=\"#fff\" stroke=\"#999\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << fmt(py(v)) << "\" y2=\""
      << fmt(py(v)) << "\" stroke=\"#eee\"/><text x=\"" << left - 6 << "\" y=\"" << fmt(py(v) + 4)
      << "\" text-anchor=\"end\">" << money_text(v) << "</text>\n";
  }
  if (lo < 0 && hi > 0) {
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << fmt(py(0)) << "\" y2=\""
      << fmt(py(0)) << "\" stroke=\"#888\"/>\n";
  }
  for (std::size_t d = 0; d < days; ++d) {
    s << "<text x=\"" << fmt(px(double(d))) << "\" y=\"" << h - bottom + 16
      << "\" text-anchor=\"middle\">" << first_day + d << "</text>\n";
  }
  s << "<text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 8
    << "\" text-anchor=\"middle\">simulated day</text>\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const char* color = palette[i % std::size(palette)];
    s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (std::size_t d = 0; d < runs[i].days.size(); ++d) {
      s << fmt(px(double(d))) << ',' << fmt(py(value(runs[i].days[d]))) << ' ';
    }
    s << "\"/>\n<rect x=\"" << left + 10 << "\" y=\"" << top + 8 + 16 * double(i)
      << "\" width=\"14\" height=\"4\" fill=\"" << color << "\"/><text x=\"" << left + 30
      << "\" y=\"" << top + 14 + 16 * double(i) << "\">" << html_escaped(runs[i].bidder)
      << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

// Grouped bars: one group per campaign, one bar per run.
std::string campaign_chart(const std::string& title, const scenario& sc,
                           const std::vector<run_result>& runs, double (*value)(const tally&)) {
  const double w = 720, h = 300, left = 70, right = 20, top = 34, bottom = 44;
  double lo = 0, hi = 0;
  for (const run_result& r : runs) {
    for (const tally& t : r.campaign_totals) {
      lo = std::min(lo, value(t)), hi = std::max(hi, value(t));
    }
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  auto py = [&](double v) { return top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)); };
  const double group = (w - left - right) / double(std::max<std::size_t>(1, sc.campaigns.size()));
  const double bar = group * 0.8 / double(std::max<std::size_t>(1, runs.size()));
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<text x=\"" << w / 2
    << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << html_escaped(title) << "</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << fmt(py(v)) << "\" y2=\""
      << fmt(py(v)) << "\" stroke=\"#eee\"/><text x=\"" << left - 6 << "\" y=\"" << fmt(py(v) + 4)
      << "\" text-anchor=\"end\">" << money_text(v) << "</text>\n";
  }
  s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << fmt(py(0)) << "\" y2=\""
    << fmt(py(0)) << "\" stroke=\"#888\"/>\n";
  for (std::size_t c = 0; c < sc.campaigns.size(); ++c) {
    const double x0 = left + group * double(c) + group * 0.1;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (c >= runs[i].campaign_totals.size()) continue;
      const double v = value(runs[i].campaign_totals[c]);
      const double y = std::min(py(v), py(0));
      s << "<rect x=\"" << fmt(x0 + bar * double(i)) << "\" y=\"" << fmt(y) << "\" width=\""
        << fmt(bar * 0.9) << "\" height=\"" << fmt(std::abs(py(v) - py(0))) << "\" fill=\""
        << palette[i % std::size(palette)] << "\"><title>" << html_escaped(runs[i].bidder) << ": "
        << money_text(v) << "</title></rect>\n";
    }
    s << "<text x=\"" << fmt(x0 + group * 0.4) << "\" y=\"" << h - bottom + 16
      << "\" text-anchor=\"middle\">" << html_escaped(sc.campaigns[c].id) << "</text>\n";
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    s << "<rect x=\"" << left + 10 << "\" y=\"" << top + 8 + 16 * double(i)
      << "\" width=\"14\" height=\"8\" fill=\"" << palette[i % std::size(palette)]
      << "\"/><text x=\"" << left + 30 << "\" y=\"" << top + 16 + 16 * double(i) << "\">"
      << html_escaped(runs[i].bidder) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::vector<std::vector<std::string>> run_rows(const scenario& s, const run_result& r) {
  std::vector<std::vector<std::string>> rows{header};
  for (std::size_t d = 0; d < r.days.size(); ++d) {
    rows.push_back(cells("day " + std::to_string(s.start_day + d), r.days[d]));
  }
  for (std::size_t c = 0; c < r.campaign_totals.size(); ++c) {
    rows.push_back(cells(s.campaigns[c].id, r.campaign_totals[c]));
  }
  for (std::size_t e = 0; e < r.exchange_totals.size(); ++e) {
    const bool first = s.exchanges[e].kind == auction_kind::first_price;
    rows.push_back(
        cells(s.exchanges[e].id + (first ? " (1st price)" : " (2nd price)"), r.exchange_totals[e]));
  }
  rows.push_back(cells("total", r.total));
  return rows;
}

std::vector<std::string> live_lines(const run_result& r) {
  std::vector<std::string> lines;
  const live_counts& l = r.live;
  std::string errors;
  for (const auto& [name, n] : l.bid_errors) {
    errors += (errors.empty() ? "" : ", ") + name + " " + std::to_string(n);
  }
  lines.push_back("bid answers: " + std::to_string(l.no_bids) +
                  " no-bids, errors: " + (errors.empty() ? "none" : errors) +
                  "; bids under the floor: " + std::to_string(l.bids_below_floor) +
                  "; answered after tmax: " + std::to_string(l.late_answers));
  std::string notices;
  for (const auto& [name, n] : l.notices) {
    notices += (notices.empty() ? "" : ", ") + name + ": " + std::to_string(n);
  }
  lines.push_back("notices (kind status: count): " + (notices.empty() ? "none" : notices));
  lines.push_back("clicks: " + std::to_string(l.clicks_fired) + " fired, " +
                  std::to_string(l.clicks_redirected) + " redirected (302), " +
                  std::to_string(l.clicks_without_url) + " without a click URL");
  lines.push_back("conversions: " + std::to_string(l.conversions_posted) + " posted (" +
                  std::to_string(l.conversions_accepted) + " accepted, " +
                  std::to_string(l.conversions_unmatched) + " unmatched, " +
                  std::to_string(l.conversions_duplicate) + " duplicate, " +
                  std::to_string(l.conversions_refused) + " refused), " +
                  std::to_string(l.conversions_not_sent) + " not sent (no endpoint or no answer)");
  for (const std::string& e : l.samples) lines.push_back("  e.g. " + e);
  return lines;
}

double surplus_of(const tally& t) { return t.surplus(); }
double spend_of(const tally& t) { return t.spend; }
double value_of(const tally& t) { return t.value; }
double expected_surplus_of(const tally& t) { return t.expected_value - t.spend; }

}  // namespace

std::string text_report(const scenario& s, const std::vector<run_result>& runs) {
  std::ostringstream out;
  out << "bidsim " << std::string(build_commit()).substr(0, 12) << ": seed " << s.seed << ", "
      << s.users << " users, " << s.days << " days"
      << (s.start_day > 0 ? " from day " + std::to_string(s.start_day) : std::string()) << " of "
      << s.requests_per_day << " requests, " << s.exchanges.size() << " exchanges, "
      << s.campaigns.size() << " campaigns (USD)\n";
  for (const run_result& r : runs) {
    out << "\n== " << r.bidder << " (" << r.requests << " requests in ";
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", r.wall_seconds);
    out << secs << (r.stopped_early ? ", STOPPED EARLY by --duration" : "") << ") ==\n";
    print_table(out, run_rows(s, r));
    out << "conversions due after the last day (not counted): " << r.conversions_pending << "\n";
    if (r.bidder == "bidder") {
      for (const std::string& line : live_lines(r)) out << line << "\n";
    }
  }
  if (runs.size() > 1) {
    out << "\n== side by side ==\n";
    std::vector<std::vector<std::string>> rows{header};
    for (const run_result& r : runs) rows.push_back(cells(r.bidder, r.total));
    print_table(out, rows);
  }
  return out.str();
}

json::object json_report(const scenario& s, const std::vector<run_result>& runs) {
  json::object doc;
  doc["tool"] = "bidsim";
  doc["commit"] = std::string(std::string(build_commit()).substr(0, 12));
  // The whole scenario, as --write-scenario writes it: a report says what market it measured.
  doc["scenario"] = json::parse(scenario_to_json(s));
  json::array out_runs;
  for (const run_result& r : runs) {
    json::object o;
    o["bidder"] = r.bidder;
    o["requests"] = r.requests;
    o["stopped_early"] = r.stopped_early;
    o["wall_seconds"] = r.wall_seconds;
    o["conversions_pending"] = r.conversions_pending;
    o["total"] = tally_json(r.total);
    json::array days;
    for (std::size_t d = 0; d < r.days.size(); ++d) {
      json::object day = tally_json(r.days[d]);
      day["day"] = s.start_day + d;
      json::object by;
      for (std::size_t c = 0; c < r.by_campaign[d].size(); ++c) {
        by[s.campaigns[c].id] = tally_json(r.by_campaign[d][c]);
      }
      day["campaigns"] = std::move(by);
      days.push_back(std::move(day));
    }
    o["days"] = std::move(days);
    json::object camps;
    for (std::size_t c = 0; c < r.campaign_totals.size(); ++c) {
      camps[s.campaigns[c].id] = tally_json(r.campaign_totals[c]);
    }
    o["campaigns"] = std::move(camps);
    json::object exchanges_out;
    for (std::size_t e = 0; e < r.exchange_totals.size(); ++e) {
      exchanges_out[s.exchanges[e].id] = tally_json(r.exchange_totals[e]);
    }
    o["exchanges"] = std::move(exchanges_out);
    if (r.bidder == "bidder") {
      const live_counts& l = r.live;
      json::object live;
      json::object errors;
      for (const auto& [name, n] : l.bid_errors) errors[name] = n;
      live["bid_errors"] = std::move(errors);
      live["no_bids"] = l.no_bids;
      live["bids_below_floor"] = l.bids_below_floor;
      live["late_answers"] = l.late_answers;
      json::object notices;
      for (const auto& [name, n] : l.notices) notices[name] = n;
      live["notices"] = std::move(notices);
      live["clicks_fired"] = l.clicks_fired;
      live["clicks_redirected"] = l.clicks_redirected;
      live["clicks_without_url"] = l.clicks_without_url;
      live["conversions_posted"] = l.conversions_posted;
      live["conversions_accepted"] = l.conversions_accepted;
      live["conversions_unmatched"] = l.conversions_unmatched;
      live["conversions_duplicate"] = l.conversions_duplicate;
      live["conversions_refused"] = l.conversions_refused;
      live["conversions_not_sent"] = l.conversions_not_sent;
      json::array samples;
      for (const std::string& e : l.samples) samples.push_back(json::string(e));
      live["error_samples"] = std::move(samples);
      o["live"] = std::move(live);
    }
    out_runs.push_back(std::move(o));
  }
  doc["runs"] = std::move(out_runs);
  return doc;
}

std::string html_report(const scenario& s, const std::vector<run_result>& runs) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bidsim report</title>\n"
       "<style>body{font-family:sans-serif;margin:24px;max-width:1100px}"
       "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;"
       "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
       "th{background:#f3f3f3}</style></head><body>\n";
  h << "<h1>bidsim: market simulation</h1>\n<p>commit "
    << html_escaped(std::string(build_commit()).substr(0, 12)) << ", seed " << s.seed << ", "
    << s.users << " users, " << s.days << " simulated days"
    << (s.start_day > 0 ? " from day " + std::to_string(s.start_day) : std::string()) << " of "
    << s.requests_per_day << " requests, " << s.exchanges.size() << " exchanges, "
    << s.campaigns.size()
    << " campaigns. Money in USD; surplus = conversion value − spend; exp. surplus uses the "
       "true expected value of the impressions won.</p>\n";
  h << day_chart("surplus per simulated day (USD)", runs, surplus_of, s.start_day);
  h << day_chart("spend per simulated day (USD)", runs, spend_of, s.start_day);
  h << day_chart("conversion value per simulated day (USD)", runs, value_of, s.start_day);
  h << campaign_chart("surplus per campaign (USD)", s, runs, surplus_of);
  h << campaign_chart("expected surplus per campaign (USD)", s, runs, expected_surplus_of);
  for (const run_result& r : runs) {
    h << "<h2>" << html_escaped(r.bidder) << "</h2>\n<p>" << r.requests << " requests"
      << (r.stopped_early ? ", stopped early by --duration" : "") << "; conversions due after "
      << "the last day (not counted): " << r.conversions_pending << "</p>\n<table>\n";
    bool first = true;
    for (const auto& row : run_rows(s, r)) {
      h << "<tr>";
      for (const std::string& c : row) {
        h << (first ? "<th>" : "<td>") << html_escaped(c) << (first ? "</th>" : "</td>");
      }
      h << "</tr>\n";
      first = false;
    }
    h << "</table>\n";
    if (r.bidder == "bidder") {
      h << "<ul>";
      for (const std::string& line : live_lines(r)) h << "<li>" << html_escaped(line) << "</li>";
      h << "</ul>\n";
    }
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace bidder::sim
