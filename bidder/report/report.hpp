// File: bidder/report/report.hpp
//
// `bidder report`'s logic: reads the event log files (events.proto, one JSON line each) in a
// directory and sums them per group (by default campaign and UTC day; `group_by` picks any of
// day, campaign, creative and exchange), always apart per currency: bids, wins, win rate, paid
// impressions, spend, eCPM, average bid and clearing price of the wins, clicks, CTR, cost per
// click, and the ROI columns: conversions (last_click and last_view), their value, CVR,
// conversions per mille, CPA and ROAS. Malformed lines (hostile bytes, a line cut short by a
// crash) are skipped and counted; a conversion written twice (after a crash) is counted once.
//
//   auto r = bidder::reporting::build_report({.dir = "data/events",
//                                             .from = *bidder::reporting::parse_day("2026-11-22"),
//                                             .grouping = *bidder::reporting::parse_group_by(
//                                                 "campaign,exchange")});
//   if (!r) { std::cerr << r.error().message << '\n'; return 1; }
//   std::cout << bidder::reporting::render(*r, bidder::reporting::report_format::table);
//
// Definitions (all money in the event's currency; prices in the log are CPM prices):
// - impressions: paid impressions, counted exactly as the spend ledger counted them: the WIN and
//   BILL events marked `charged` (the notice that charged the budget under the exchange's
//   count_on or the campaign's override; a BILL that came without a charging WIN). The row's
//   `spend_basis` says which notices those were: win, bill, or mixed. Lines written before
//   `charged` existed are counted as before: per (campaign, exchange), the BILL events when any
//   BILL of the pair is in range, else the WIN events.
// - spend: sum over those impressions of clearing_price / 1000 (one impression of a CPM price).
// - eCPM: spend * 1000 / impressions, the average clearing price of the paid impressions.
// - win rate: wins / bids. avg bid / avg clearing: over WIN events (which carry both);
//   clearing/bid: their sums' ratio, what the second-price or shading saved.
// - CTR: clicks / impressions. cost per click: spend / clicks.
// - conversions: CONVERSION events the bidder attributed to a touch of the row (the campaign,
//   creative and exchange of the credited win, bill or click), split by the rule each line
//   carries: last_click (the user's last click in the click window), else last_view (the last
//   win or bill in the view window). That is the attribution model of every report
//   (`attribution_model`); linear or time-decay credit cannot be computed from this log (a line
//   carries its credited touch, not the user's chain of touches). A conversion counts on the
//   day of its own time_ms, not of the touch.
// - conversion value: the sum of their value_micros, which the bidder converted into the
//   credited bid's currency (so it is in the row's currency, like its spend).
// - CVR: conversions / clicks (last_view conversions included, so it can exceed 1);
//   conversions per mille: conversions * 1000 / impressions.
// - CPA: spend / conversions. ROAS: conversion value / spend.
// - Unattributed conversions (no touch in either window) belong to no row: they are summed per
//   UTC day and currency apart (`report::unattributed`).
// - A conversion line may be written twice after a crash (at-least-once): lines with the same
//   (conversion_id, campaign_id, time_ms) count once; the rest are `read_stats::duplicates`.
// - A row is (the `group_by` dimensions, currency): money never sums across currencies. An
//   event without a currency (e.g. a click whose handler did not know it) joins the row of its
//   group when the group has one currency, else a row with currency "".
// - Other duplicates are not removed: the notice handlers log a notice once (idempotent by bid
//   id).
// - arm: the experiment and arm the events name ("experiment/arm"; events.proto); a conversion
//   carries the arm of the touch it was credited to. Grouped by arm, each pair of arms of an
//   experiment is compared (`arm_differences`: ROAS and CPA differences with 95 % intervals).
// - segment: the audience segments a bid saw (first- and third-party, those some campaign or
//   model names: the `g=<segment>:<recency>` tokens of the BID line's `features`); its win,
//   bill, loss, click and conversion lines are joined to it by bid id. A bid with several
//   segments counts in each of their rows, so rows grouped by segment overlap and do not add up
//   to the campaign's totals; a bid with none is in segment "" ("-" in the table). The join
//   keeps one entry per bid with segments (read before the range filter, so a win of a bid made
//   before --from still finds its segments).
// - Not derivable from this log: requests matched (the log starts at a bid).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/core/money.hpp"
#include "bidder/events/event.hpp"

namespace bidder::reporting {

using events::event_kind;

using std::chrono::sys_days;

/// Parses a UTC day "YYYY-MM-DD" (a real date). Errors: invalid_field, quoting the text.
[[nodiscard]] result<sys_days> parse_day(std::string_view text);
/// "YYYY-MM-DD".
std::string format_day(sys_days day);

/// Which dimensions a report's rows have. `arm` is "experiment/arm" (events.proto), empty for
/// events of no arm; `segment` is an audience segment its bid saw (see the File: block).
struct group_by {
  bool campaign = true;
  bool creative = false;
  bool exchange = false;
  bool arm = false;
  bool segment = false;
  bool day = true;
  friend bool operator==(const group_by&, const group_by&) = default;
};
/// Parses a comma list of day, campaign, creative, exchange, arm and segment, in any order (e.g.
/// "campaign,day", the default). Errors: invalid_field (empty, an unknown or repeated name),
/// naming the item.
[[nodiscard]] result<group_by> parse_group_by(std::string_view text);
/// The canonical comma list, in the rows' sort order: "campaign,creative,exchange,day" or a
/// subset ("campaign,day" for the default); "" when nothing is grouped (one row per currency).
std::string to_string(const group_by& grouping);

/// The attribution model every report states: the rule the bidder applied, which each
/// conversion line carries (events.proto `attribution`).
inline constexpr std::string_view attribution_model = "last_click, else last_view";

struct report_query {
  /// Directory holding events-*.jsonl files (other files are ignored). Required.
  std::filesystem::path dir{};
  /// Inclusive range of UTC days; absent: unbounded on that side.
  std::optional<sys_days> from{};
  std::optional<sys_days> to{};
  /// Only this campaign; absent: all.
  std::optional<std::string> campaign_id{};
  /// Only events of this exchange (config Exchange.id); absent: all.
  std::optional<std::string> exchange{};
  /// The rows' dimensions (besides the currency); default: campaign and day.
  group_by grouping{};
};

/// What a report needs of one line (the rest of the record is not kept).
struct log_record {
  event_kind kind = event_kind::bid;
  std::int64_t time_ms = 0;
  std::string campaign_id;  ///< empty only on an unattributed conversion that named none
  std::string creative_id;
  std::string bid_id;    ///< the bid the event is about (`bidder train` joins on it)
  std::string features;  ///< bid: the learning tokens (events.proto `features`)
  std::string model;     ///< bid: the pricing model that priced it (events.proto `model`)
  std::string currency;
  std::string exchange;
  std::string arm;  ///< "experiment/arm" when the line names both; else empty
  std::int64_t bid_price_micros = 0;
  std::int64_t clearing_price_micros = 0;
  /// Win and bill: whether the notice counted as spend; absent on lines written before the
  /// field existed (the report then infers the basis, see report_builder).
  std::optional<bool> charged;
  /// Conversion: the advertiser's id, its value (micros of `currency`) and the crediting rule.
  std::string conversion_id;
  std::int64_t value_micros = 0;
  events::attribution credited_by = events::attribution::unattributed;
};

/// Parses log lines; reuses its buffers, so one parser per reading thread.
class line_parser {
 public:
  line_parser();
  ~line_parser();
  line_parser(const line_parser&) = delete;
  line_parser& operator=(const line_parser&) = delete;
  /// Parses one line (without its '\n') into `out`. Accepts events.proto's JSON mapping in
  /// snake_case or lowerCamelCase, 64-bit integers as numbers or strings, the kind as a name or
  /// a number; ignores unknown fields. Errors: malformed_request (not a JSON object, a line
  /// over `max_line_bytes`), missing_field (kind, time_ms, campaign_id), invalid_field (a wrong
  /// type, an unknown kind, a negative time or price); the message names the field. Never
  /// throws, whatever the bytes.
  [[nodiscard]] result<void> parse(std::string_view line, log_record& out);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Longest line read; a longer one is skipped as malformed (the writer's lines are < 4 KiB).
inline constexpr std::size_t max_line_bytes = 64 * 1024;

enum class spend_basis { none, win, bill, mixed };
std::string_view to_string(spend_basis basis) noexcept;

/// One row: a group (report_query::grouping; the dimensions not grouped by are empty) in one
/// currency on one day, or (day absent) over the range.
struct campaign_summary {
  std::string campaign_id;
  std::string creative_id;
  std::string exchange;
  std::string arm;      ///< "experiment/arm"; empty: no arm (or not grouped by arm)
  std::string segment;  ///< an audience segment its bids saw; empty: none (or not grouped by it)
  std::optional<sys_days> day;
  /// The pricing models the row's bids were priced by (BID lines' `model`), e.g. {"learned"}.
  std::set<std::string> models;
  std::string currency;
  std::uint64_t bids = 0;
  std::uint64_t wins = 0;
  std::uint64_t bills = 0;
  std::uint64_t losses = 0;
  std::uint64_t clicks = 0;
  std::uint64_t impressions = 0;          ///< paid impressions (see the File: block)
  std::int64_t paid_cpm_micros = 0;       ///< sum of the paid impressions' clearing prices
  std::int64_t win_bid_cpm_micros = 0;    ///< sum of the WIN events' bid prices
  std::int64_t win_clear_cpm_micros = 0;  ///< sum of the WIN events' clearing prices
  spend_basis basis = spend_basis::none;
  std::uint64_t last_click_conversions = 0;  ///< attributed by last_click
  std::uint64_t last_view_conversions = 0;   ///< attributed by last_view
  std::int64_t conversion_value_micros = 0;  ///< their value, in `currency`
  double conversion_value_squares = 0;       ///< sum of each value squared (units of currency^2)

  money spend() const noexcept;
  std::uint64_t conversions() const noexcept {
    return last_click_conversions + last_view_conversions;
  }
  money conversion_value() const noexcept { return money::from_micros(conversion_value_micros); }
  std::optional<double> win_rate() const noexcept;
  std::optional<money> ecpm() const noexcept;
  std::optional<money> average_bid_price() const noexcept;
  std::optional<money> average_clearing_price() const noexcept;
  std::optional<double> clearing_to_bid() const noexcept;
  std::optional<double> click_through_rate() const noexcept;
  std::optional<money> cost_per_click() const noexcept;
  /// conversions / clicks (CVR).
  std::optional<double> conversion_rate() const noexcept;
  /// conversions * 1000 / impressions.
  std::optional<double> conversions_per_mille() const noexcept;
  /// spend / conversions (CPA).
  std::optional<money> cost_per_acquisition() const noexcept;
  /// conversion value / spend (ROAS).
  std::optional<double> return_on_ad_spend() const noexcept;

  /// A 95 % confidence interval; `high` absent: unbounded.
  struct interval {
    double low = 0;
    std::optional<double> high;
  };
  /// CPA's 95 % interval, taking spend as fixed and the conversion count as Poisson (normal
  /// approximation, n ± 1.96 √n): [spend / (n + 1.96 √n), spend / (n − 1.96 √n)], unbounded
  /// above while n − 1.96 √n ≤ 0 (fewer than 4 conversions). Absent without conversions.
  std::optional<interval> cpa_interval() const noexcept;
  /// ROAS's 95 % interval: the value as a compound Poisson sum, value ± 1.96 √(Σ value²), over
  /// spend (low clamped at 0). Absent without spend.
  std::optional<interval> roas_interval() const noexcept;
};

/// The difference a - b of one measure between two groups (two arms of an experiment), with
/// its 95 % interval (normal approximation, the groups independent: an experiment splits users
/// apart).
struct difference {
  double estimate = 0;
  double low = 0;
  double high = 0;
  /// The interval excludes 0: the groups differ at the 5 % level (a two-sided test).
  bool differs() const noexcept { return low > 0 || high < 0; }
};
/// ROAS(a) - ROAS(b) +- 1.96 sqrt(var a + var b), each ROAS's variance Sum value^2 / spend^2 as in
/// roas_interval (the value a compound Poisson sum, spend fixed). Absent when either has no
/// spend. This, not whether the two roas_interval()s overlap, is the test of "the arms differ":
/// two 95 % intervals fail to overlap far less often than 5 % of the time when nothing differs.
/// It takes conversions as independent events; when a few users convert again and again, the
/// split of those users adds variance it does not see, and it says "differ" too often
/// (docs/experiments.md measures both in bidsim). TODO(simexp): a variance per user (the log's
/// user_key_hash) would cover that.
std::optional<difference> roas_difference(const campaign_summary& a,
                                          const campaign_summary& b) noexcept;
/// CPA(a) - CPA(b) +- 1.96 sqrt(CPA(a)^2 / n(a) + CPA(b)^2 / n(b)) (the delta method with Poisson
/// conversion counts n, spend fixed). Absent when either has no conversions. Rough under ~10
/// conversions an arm; prefer roas_difference then.
std::optional<difference> cpa_difference(const campaign_summary& a,
                                         const campaign_summary& b) noexcept;

/// Two arms of one experiment within one group (the other dimensions grouped by, and the
/// currency), over the report's whole range.
struct arm_comparison {
  std::string campaign_id;  ///< the group's dimensions; empty when not grouped by
  std::string creative_id;
  std::string exchange;
  std::string currency;
  std::string experiment;
  std::string arm_a;  ///< "experiment/arm"; arm_a < arm_b
  std::string arm_b;
  std::optional<difference> roas;  ///< ROAS(arm_a) - ROAS(arm_b)
  std::optional<difference> cpa;   ///< CPA(arm_a) - CPA(arm_b)
};

/// Unattributed conversions of one UTC day in one currency (they belong to no row).
struct unattributed_summary {
  sys_days day{};
  std::string currency;
  std::uint64_t conversions = 0;
  std::int64_t value_micros = 0;
};

/// What was read, for the report's footer and for monitoring the log's health.
struct read_stats {
  std::uint64_t files = 0;             ///< log files read
  std::uint64_t files_skipped = 0;     ///< log files whose name puts them outside the range
  std::uint64_t unreadable_files = 0;  ///< could not be opened or read (listed in `problems`)
  std::uint64_t lines = 0;
  std::uint64_t events = 0;     ///< lines counted in the report
  std::uint64_t filtered = 0;   ///< good lines outside --from/--to/--campaign/--exchange
  std::uint64_t malformed = 0;  ///< lines skipped: not a valid event
  std::uint64_t cut_short = 0;  ///< a last line without its newline (a crash, or being written)
  /// Conversion lines not counted because one with the same (conversion_id, campaign_id,
  /// time_ms) was (written twice after a crash).
  std::uint64_t duplicates = 0;
  /// The first `max_problems` skipped lines and unreadable files, as "FILE:LINE: reason".
  std::vector<std::string> problems;
};
inline constexpr std::size_t max_problems = 20;

struct report {
  group_by grouping;
  /// The rows, sorted by campaign, creative, exchange, currency, day (the dimensions grouped
  /// by). Named for the default grouping; without day in it, `day` is absent on each.
  std::vector<campaign_summary> days;
  /// With day in the grouping: each group and currency over the range, in the same order.
  /// Without: empty (the rows already are).
  std::vector<campaign_summary> totals;
  /// By day, currency.
  std::vector<unattributed_summary> unattributed;
  /// Grouped by arm: every pair of arms of the same experiment in the same group, over the
  /// range, in the rows' order. Empty otherwise.
  std::vector<arm_comparison> arm_differences;
  read_stats input;
};

/// Sums records into a report; `build_report` feeds it from files, tests feed it directly.
class report_builder {
 public:
  explicit report_builder(report_query query);
  /// Counts `record` if it passes the query's filters (else counts it in `filtered`), and a
  /// conversion only the first time (else counts it in `duplicates`).
  void add(const log_record& record, read_stats& stats);
  /// The rows, sorted; `stats` becomes the report's `input`.
  report finish(read_stats stats) const;

 private:
  struct exchange_sums {
    std::uint64_t wins = 0, bills = 0;
    std::int64_t win_cpm_micros = 0, bill_cpm_micros = 0;
    // The notices that counted as spend, as the ledger counted them (log_record::charged).
    std::uint64_t charged = 0;
    std::int64_t charged_cpm_micros = 0;
    bool charged_wins = false, charged_bills = false;  // the basis
    // Lines without `charged` (written before it existed): their basis is inferred per
    // (campaign, exchange), bill when any bill of the pair was seen (billed_).
    std::uint64_t legacy_wins = 0, legacy_bills = 0;
    std::int64_t legacy_win_cpm_micros = 0, legacy_bill_cpm_micros = 0;
    void add(const exchange_sums& o) noexcept;
  };
  struct sums {
    std::uint64_t bids = 0, losses = 0, clicks = 0;
    std::int64_t win_bid_cpm_micros = 0;
    std::uint64_t last_click = 0, last_view = 0;
    std::int64_t conversion_value_micros = 0;
    double conversion_value_squares = 0;
    std::set<std::string> models;
    // By (campaign, exchange), the pair whose legacy basis billed_ holds.
    std::map<std::pair<std::string, std::string>, exchange_sums> by_exchange;
  };
  // (campaign, creative, exchange, day, currency); the dimensions not grouped by are empty, and
  // the day the epoch. Its order is the rows' order but for the day.
  // (campaign, creative, exchange, day, currency, arm, segment)
  using key = std::tuple<std::string, std::string, std::string, sys_days, std::string, std::string,
                         std::string>;
  // Adds one event to the row `scratch_key_` names.
  void add_to_row(const log_record& record);
  // Grouped by segment: bid id -> the bid's segments, each followed by '\n'.
  std::unordered_map<std::string, std::string> bid_segments_;
  std::string scratch_segments_;
  report_query query_;
  std::optional<std::int64_t> from_ms_, to_end_ms_;
  std::map<key, sums> rows_;
  std::map<std::pair<std::string, std::string>, bool> billed_;  // (campaign, exchange) -> any bill
  // (conversion_id, campaign_id, time_ms) of the conversions counted, to drop repeats.
  std::set<std::tuple<std::string, std::string, std::int64_t>> conversions_seen_;
  // add()'s keys, reused so that looking a row up allocates nothing.
  key scratch_key_;
  std::pair<std::string, std::string> scratch_pair_;
  // (day, currency) -> count, value.
  std::map<std::pair<sys_days, std::string>, std::pair<std::uint64_t, std::int64_t>> unattributed_;
};

/// Reads every log file in `query.dir` whose name (its open time) can hold events of the range
/// and sums them. Unreadable files and bad lines are counted, never fatal. Errors: not_found
/// (no such directory), io_error (it cannot be listed), invalid_field (from after to); each
/// names the directory or the days.
[[nodiscard]] result<report> build_report(const report_query& query);

/// Reads every log file in `dir` in order (by open time) and hands each well-formed line to
/// `each` (other readers of the log: `bidder train`). Bad lines and unreadable files are
/// counted in the stats, never fatal. Errors: as build_report's.
[[nodiscard]] result<read_stats> read_log(const std::filesystem::path& dir,
                                          const std::function<void(const log_record&)>& each);

enum class report_format { table, csv, json };
/// "table", "csv" or "json". Errors: invalid_field.
[[nodiscard]] result<report_format> parse_report_format(std::string_view text);

/// Columns: the grouped dimensions (day, campaign, creative, exchange), currency, then the
/// sums and rates (the ROI ones last). "-" (table), empty (csv) or null (json) where a rate is
/// undefined.
/// table: aligned columns, each group's days then its total; then the unattributed
/// conversions per day, and a line naming the attribution model and the grouping.
/// csv: a header and one row per group (no totals, no unattributed: sum the rows; the json
/// form has them).
/// Grouped by arm, table and json add the arm_differences (json: "arm_differences":[{...,
/// "arm_a","arm_b","roas_difference","roas_difference_ci95":[low,high],"cpa_difference",
/// "cpa_difference_ci95","differ": whether the ROAS interval excludes 0}]).
/// json: {"days":[...],"totals":[...],"unattributed":[...],"group_by":"campaign,day",
/// "attribution_model":"last_click, else last_view","input":{...}}; money as decimal numbers
/// with 6 places (exact micros).
std::string render(const report& r, report_format format);
/// One line for people: files, lines, events, filtered, malformed, cut short.
std::string describe_input(const read_stats& stats);

}  // namespace bidder::reporting
