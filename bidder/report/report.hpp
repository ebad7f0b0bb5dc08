// File: bidder/report/report.hpp
//
// `bidder report`'s logic: reads the event log files (events.proto, one JSON line each) in a
// directory and sums them per campaign and UTC day: bids, wins, win rate, paid impressions,
// spend, eCPM, average bid and clearing price of the wins, clicks, CTR and cost per click.
// Malformed lines (hostile bytes, a line cut short by a crash) are skipped and counted.
//
//   auto r = bidder::events::build_report({.dir = "data/events",
//                                          .from = *bidder::events::parse_day("2026-11-22")});
//   if (!r) { std::cerr << r.error() << '\n'; return 1; }
//   std::cout << bidder::events::render(*r, bidder::events::report_format::table);
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
// - A row is (campaign, day, currency). An event without a currency (e.g. a click whose handler
//   did not know it) joins its campaign's row of that day when that day has one currency, else a
//   row with currency "".
// - Duplicates are not removed: the notice handlers log a notice once (idempotent by bid id).
// - Not derivable from this log: requests matched (the log starts at a bid).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
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
};

/// What a report needs of one line (the rest of the record is not kept).
struct log_record {
  event_kind kind = event_kind::bid;
  std::int64_t time_ms = 0;
  std::string campaign_id;
  std::string currency;
  std::string exchange;
  std::int64_t bid_price_micros = 0;
  std::int64_t clearing_price_micros = 0;
  /// Win and bill: whether the notice counted as spend; absent on lines written before the
  /// field existed (the report then infers the basis, see report_builder).
  std::optional<bool> charged;
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

/// One row: a campaign on one day in one currency, or (day absent) its total over the range.
struct campaign_summary {
  std::string campaign_id;
  std::optional<sys_days> day;
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

  money spend() const noexcept;
  std::optional<double> win_rate() const noexcept;
  std::optional<money> ecpm() const noexcept;
  std::optional<money> average_bid_price() const noexcept;
  std::optional<money> average_clearing_price() const noexcept;
  std::optional<double> clearing_to_bid() const noexcept;
  std::optional<double> click_through_rate() const noexcept;
  std::optional<money> cost_per_click() const noexcept;
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
  /// The first `max_problems` skipped lines and unreadable files, as "FILE:LINE: reason".
  std::vector<std::string> problems;
};
inline constexpr std::size_t max_problems = 20;

struct report {
  std::vector<campaign_summary> days;    ///< by campaign, currency, day
  std::vector<campaign_summary> totals;  ///< one per campaign and currency, over the range
  read_stats input;
};

/// Sums records into a report; `build_report` feeds it from files, tests feed it directly.
class report_builder {
 public:
  explicit report_builder(report_query query);
  /// Counts `record` if it passes the query's filters (else counts it in `filtered`).
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
    std::map<std::string, exchange_sums, std::less<>> by_exchange;
  };
  // (campaign, day, currency)
  using key = std::tuple<std::string, sys_days, std::string>;
  report_query query_;
  std::optional<std::int64_t> from_ms_, to_end_ms_;
  std::map<key, sums> rows_;
  std::map<std::pair<std::string, std::string>, bool> billed_;  // (campaign, exchange) -> any bill
};

/// Reads every log file in `query.dir` whose name (its open time) can hold events of the range
/// and sums them. Unreadable files and bad lines are counted, never fatal. Errors: not_found
/// (no such directory), io_error (it cannot be listed), invalid_field (from after to); each
/// names the directory or the days.
[[nodiscard]] result<report> build_report(const report_query& query);

enum class report_format { table, csv, json };
/// "table", "csv" or "json". Errors: invalid_field.
[[nodiscard]] result<report_format> parse_report_format(std::string_view text);

/// table: aligned columns, days then each campaign's total, "-" where a rate is undefined.
/// csv: a header and one row per campaign and day (no totals; sum them), empty where undefined.
/// json: {"days":[...],"totals":[...],"input":{...}}, null where undefined; money as decimal
/// numbers with 6 places (exact micros).
std::string render(const report& r, report_format format);
/// One line for people: files, lines, events, filtered, malformed, cut short.
std::string describe_input(const read_stats& stats);

}  // namespace bidder::reporting
