// File: bench/sim/bidder_report.cpp
#include "bench/sim/bidder_report.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/sim/http_client.hpp"

namespace bidder::sim {
namespace json = boost::json;
namespace {

// How often the report is asked again while the log catches up (it writes every few ms).
constexpr std::chrono::milliseconds poll_interval{50};
// One report read: the whole log of a run of a few days is read in well under this.
constexpr std::chrono::milliseconds report_timeout{30'000};

std::uint64_t count_of(const json::value& row, std::string_view key) {
  const json::value* v = row.is_object() ? row.as_object().if_contains(key) : nullptr;
  if (v == nullptr) return 0;
  if (v->is_int64() && v->as_int64() > 0) return static_cast<std::uint64_t>(v->as_int64());
  if (v->is_uint64()) return v->as_uint64();
  return 0;
}

const json::array& array_of(const json::value& doc, std::string_view key) {
  static const json::array empty;
  const json::value* v = doc.is_object() ? doc.as_object().if_contains(key) : nullptr;
  return v != nullptr && v->is_array() ? v->as_array() : empty;
}

std::string cell(const json::value& row, std::string_view key, int decimals) {
  const json::value* v = row.is_object() ? row.as_object().if_contains(key) : nullptr;
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_bool()) return v->as_bool() ? "yes" : "no";
  if (v->is_number()) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v->to_number<double>());
    return buf;
  }
  if (v->is_array() && v->as_array().size() == 2) {
    const json::array& a = v->as_array();
    auto bound = [&](const json::value& b) {
      if (!b.is_number()) return std::string("inf");
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.*f", decimals, b.to_number<double>());
      return std::string(buf);
    };
    std::string out = "[";
    out += bound(a[0]);
    out += ", ";
    out += bound(a[1]);
    out += ']';
    return out;
  }
  return "?";
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      const std::string pad(width[i] - r[i].size(), ' ');
      out += i == 0 ? r[i] + pad : pad + r[i];
      out += i + 1 < r.size() ? "  " : "\n";
    }
  }
  return out;
}

}  // namespace

std::optional<json::value> fetch_arm_report(const std::string& admin_url,
                                            const std::string& admin_token, const run_result& run,
                                            std::chrono::milliseconds wait, std::string& error) {
  error.clear();
  url_parts admin;
  if (!parse_loopback_url(admin_url, admin, error)) return std::nullopt;
  const auto win_notices = run.live.notices.find("win 204");
  const std::uint64_t wins_sent = win_notices == run.live.notices.end() ? 0 : win_notices->second;
  const std::uint64_t conversions_sent = run.live.conversions_accepted;
  http_client client(admin.host, admin.port, report_timeout);
  const auto give_up = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const http_outcome r = client.send("GET", arm_report_target, {}, {}, admin_token);
    if (r.failure != http_failure::none || r.status != 200) {
      error = std::string("GET ") + arm_report_target + ": " +
              (r.failure != http_failure::none ? failure_name(r.failure)
                                               : "HTTP " + std::to_string(r.status) + " " + r.body);
      return std::nullopt;
    }
    boost::system::error_code ec;
    json::value doc = json::parse(r.body, ec);
    if (ec || !doc.is_object()) {
      error = std::string("GET ") + arm_report_target + ": an answer that is not JSON";
      return std::nullopt;
    }
    std::uint64_t wins = 0, conversions = 0;
    for (const json::value& row : array_of(doc, "days")) {
      wins += count_of(row, "wins");
      conversions += count_of(row, "conversions");
    }
    for (const json::value& row : array_of(doc, "unattributed")) {
      conversions += count_of(row, "conversions");
    }
    if (wins >= wins_sent && conversions >= conversions_sent) return doc;
    if (std::chrono::steady_clock::now() >= give_up) {
      error = "the bidder's report counts " + std::to_string(wins) + " wins and " +
              std::to_string(conversions) + " conversions of the run's " +
              std::to_string(wins_sent) + " and " + std::to_string(conversions_sent) +
              " after waiting; shown as it is";
      return doc;
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

std::string arm_report_text(const json::value& report) {
  std::vector<std::vector<std::string>> rows{{"arm", "impressions", "spend", "clicks", "conv.",
                                              "value", "CPA", "CPA 95 %", "ROAS", "ROAS 95 %"}};
  for (const json::value& row : array_of(report, "days")) {
    std::string arm = cell(row, "arm", 0);
    // Loss notices carry no user hash, hence no arm: a row of no arm with only those is noise.
    if (arm.empty() && count_of(row, "wins") == 0 && count_of(row, "conversions") == 0) continue;
    if (arm.empty()) arm = "(no arm)";
    rows.push_back({arm, cell(row, "impressions", 0), cell(row, "spend", 2), cell(row, "clicks", 0),
                    cell(row, "conversions", 0), cell(row, "conversion_value", 2),
                    cell(row, "cpa", 2), cell(row, "cpa_ci95", 2), cell(row, "roas", 2),
                    cell(row, "roas_ci95", 2)});
  }
  std::string out = table(rows);
  const json::array& differences = array_of(report, "arm_differences");
  if (!differences.empty()) {
    std::vector<std::vector<std::string>> diff{
        {"arm a", "arm b", "ROAS a-b", "95 %", "CPA a-b", "95 %", "differ"}};
    for (const json::value& d : differences) {
      diff.push_back({cell(d, "arm_a", 0), cell(d, "arm_b", 0), cell(d, "roas_difference", 2),
                      cell(d, "roas_difference_ci95", 2), cell(d, "cpa_difference", 2),
                      cell(d, "cpa_difference_ci95", 2), cell(d, "differ", 0)});
    }
    out +=
        "arm differences (the arms differ when the ROAS difference's 95 % interval excludes 0):\n";
    out += table(diff);
  }
  return out;
}

}  // namespace bidder::sim
