#include "bidder/report/cli.hpp"

#include <iostream>
#include <string>

#include "bidder/report/report.hpp"

namespace bidder::reporting {
namespace {

constexpr std::string_view usage = R"(usage:
  bidder report [--dir DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--campaign ID]
                [--exchange ID] [--group-by LIST] [--format table|csv|json]
      Sums the event log per campaign and UTC day (and currency): bids, wins, win rate, paid
      impressions, spend, eCPM, average bid and clearing price, clicks, CTR, cost per click,
      and ROI: conversions (last_click, last_view), conversion value, CVR, conversions per
      mille, CPA, ROAS; unattributed conversions apart, per day.
      --dir defaults to data/events (serve's --data-dir, plus /events). --from and --to are
      inclusive UTC days. --exchange keeps only the events of that exchange (the config's
      Exchange.id, as logged). --group-by is a comma list of day, campaign, creative,
      exchange, arm (an experiment's "experiment/arm") and segment (each audience segment the
      bid saw: a bid with several counts in each, so those rows overlap); default
      campaign,day. Attribution: last_click, else last_view, the rule the bidder applied and
      logged. Malformed lines are skipped and counted on stderr, and so are
      conversions logged twice (counted once).
)";

int bad_usage(std::string_view message) {
  std::cerr << "bidder report: " << message << "\n\n" << usage;
  return 2;
}

}  // namespace

int run_report_cli(const std::vector<std::string_view>& args) {
  report_query query;
  query.dir = "data/events";
  report_format format = report_format::table;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h" || flag == "help") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 == args.size()) return bad_usage(std::string(flag) + " needs a value");
    const std::string_view value = args[++i];
    if (flag == "--dir") {
      query.dir = std::string(value);
    } else if (flag == "--from" || flag == "--to") {
      auto day = parse_day(value);
      if (!day) return bad_usage(std::string(flag) + " " + day.error().message);
      (flag == "--from" ? query.from : query.to) = *day;
    } else if (flag == "--campaign") {
      if (value.empty()) return bad_usage("--campaign needs an id");
      query.campaign_id = std::string(value);
    } else if (flag == "--exchange") {
      if (value.empty()) return bad_usage("--exchange needs an id");
      query.exchange = std::string(value);
    } else if (flag == "--group-by") {
      auto grouping = parse_group_by(value);
      if (!grouping) return bad_usage(grouping.error().message);
      query.grouping = *grouping;
    } else if (flag == "--format") {
      auto parsed = parse_report_format(value);
      if (!parsed) return bad_usage(parsed.error().message);
      format = *parsed;
    } else {
      return bad_usage("unknown option " + std::string(flag));
    }
  }
  auto report = build_report(query);
  if (!report) {
    if (report.error().code == errc::invalid_field) return bad_usage(report.error().message);
    std::cerr << "bidder report: " << report.error().message << "\n";
    return 1;
  }
  std::cout << render(*report, format);
  std::cerr << "bidder report: " << describe_input(report->input) << "\n";
  for (const std::string& problem : report->input.problems) {
    std::cerr << "bidder report: skipped " << problem << "\n";
  }
  const auto skipped =
      report->input.malformed + report->input.cut_short + report->input.unreadable_files;
  if (skipped > report->input.problems.size()) {
    std::cerr << "bidder report: (only the first " << max_problems << " are listed)\n";
  }
  return 0;
}

}  // namespace bidder::reporting
