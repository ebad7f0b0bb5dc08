#include "bidder/report/report.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>

#include "bidder/core/json_text.hpp"
#include "bidder/events/log_file_name.hpp"

namespace bidder::reporting {
namespace {

namespace json = boost::json;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;

// Bytes read from a file at a time.
constexpr std::size_t read_chunk_bytes = 1 << 20;
// A file holds lines written from its open time to the end of that hour (hourly rotation); an
// event's time is its append time, a few ms before it is written. So a file opened more than
// this long before `from` cannot hold events of the range.
constexpr hours file_span_margin{2};
// Events keep the time they were appended; the one at 23:59:59.999 may be written after the
// next file opened. A file opened this long after the end of `to` cannot hold events of it.
constexpr hours file_late_margin{1};
// Nesting that a valid line has: the object itself.
constexpr unsigned max_json_depth = 4;
// Stack storage for parsing one line; a longer line falls back to the heap.
constexpr std::size_t parse_buffer_bytes = 16 * 1024;

std::int64_t day_start_ms(sys_days day) {
  return std::chrono::duration_cast<milliseconds>(day.time_since_epoch()).count();
}

sys_days day_of_ms(std::int64_t ms) {
  return std::chrono::floor<days>(std::chrono::sys_time<milliseconds>(milliseconds(ms)));
}

// Integer field: a JSON integer or a string of decimal digits (protobuf prints int64 so).
std::optional<std::int64_t> as_int64(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_string()) {
    const json::string& s = v.get_string();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::optional<event_kind> kind_of(const json::value& v) {
  if (v.is_string()) {
    const std::string_view name = v.get_string();
    for (int k = 1; k <= 6; ++k) {
      if (name == to_string(static_cast<event_kind>(k))) return static_cast<event_kind>(k);
    }
    return std::nullopt;
  }
  const auto number = as_int64(v);
  if (number && *number >= 1 && *number <= 6) return static_cast<event_kind>(*number);
  return std::nullopt;
}

// A field under its proto name or its lowerCamelCase JSON name.
const json::value* field(const json::object& o, std::string_view name, std::string_view camel) {
  if (const json::value* v = o.if_contains(name)) return v;
  return camel.empty() ? nullptr : o.if_contains(camel);
}

// The audience segments in a BID line's features ("g=<segment>:<recency digit>" tokens,
// learning/features.hpp), each followed by '\n', into `out`.
void segments_of(std::string_view features, std::string& out) {
  out.clear();
  while (!features.empty()) {
    const std::size_t space = features.find(' ');
    const std::string_view token = features.substr(0, space);
    if (token.size() > 4 && token.starts_with("g=") && token[token.size() - 2] == ':') {
      out.append(token.substr(2, token.size() - 4));
      out += '\n';
    }
    if (space == std::string_view::npos) break;
    features.remove_prefix(space + 1);
  }
}

std::string format_micros(std::int64_t micros) {
  const bool negative = micros < 0;
  const std::uint64_t m =
      negative ? 0 - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  char frac[8];
  std::snprintf(frac, sizeof frac, "%06llu", static_cast<unsigned long long>(m % 1000000));
  return (negative ? "-" : "") + std::to_string(m / 1000000) + "." + frac;
}

std::string format_ratio(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Rounds a / b to the nearest integer (b > 0, a >= 0), without overflow.
std::int64_t divide_rounded(std::int64_t a, std::uint64_t b) {
  const auto wide = static_cast<unsigned __int128>(static_cast<std::uint64_t>(a));
  return static_cast<std::int64_t>((wide + b / 2) / b);
}

}  // namespace

// ---- days and formats ----

result<sys_days> parse_day(std::string_view text) {
  auto bad = [&] {
    return make_error(errc::invalid_field,
                      "\"" + std::string(text) + "\": expected a day as YYYY-MM-DD");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int y = 0;
  unsigned m = 0, d = 0;
  auto digits = [&](std::size_t at, std::size_t len, auto& out) {
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + len, out);
    return ec == std::errc() && end == text.data() + at + len;
  };
  if (!digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d)) return bad();
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) {
    return make_error(errc::invalid_field, "\"" + std::string(text) + "\": no such day");
  }
  return sys_days(ymd);
}

std::string format_day(sys_days day) {
  const std::chrono::year_month_day ymd(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

result<report_format> parse_report_format(std::string_view text) {
  if (text == "table") return report_format::table;
  if (text == "csv") return report_format::csv;
  if (text == "json") return report_format::json;
  return make_error(errc::invalid_field,
                    "format \"" + std::string(text) + "\": expected table, csv or json");
}

result<group_by> parse_group_by(std::string_view text) {
  if (text.empty()) {
    return make_error(errc::invalid_field,
                      "group_by: expected a comma list of day, campaign, creative, exchange, arm, "
                      "segment");
  }
  group_by out{.campaign = false,
               .creative = false,
               .exchange = false,
               .arm = false,
               .segment = false,
               .day = false};
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    bool* flag = name == "day"        ? &out.day
                 : name == "campaign" ? &out.campaign
                 : name == "creative" ? &out.creative
                 : name == "exchange" ? &out.exchange
                 : name == "arm"      ? &out.arm
                 : name == "segment"  ? &out.segment
                                      : nullptr;
    if (flag == nullptr) {
      return make_error(errc::invalid_field,
                        "group_by: \"" + std::string(name) +
                            "\" is not day, campaign, creative, exchange, arm or segment");
    }
    if (*flag) {
      return make_error(errc::invalid_field, "group_by: \"" + std::string(name) + "\" twice");
    }
    *flag = true;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string to_string(const group_by& g) {
  std::string out;
  for (const auto& [on, name] :
       {std::pair{g.campaign, "campaign"}, std::pair{g.creative, "creative"},
        std::pair{g.exchange, "exchange"}, std::pair{g.arm, "arm"}, std::pair{g.segment, "segment"},
        std::pair{g.day, "day"}}) {
    if (!on) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

std::string_view to_string(spend_basis basis) noexcept {
  switch (basis) {
    case spend_basis::none:
      return "none";
    case spend_basis::win:
      return "win";
    case spend_basis::bill:
      return "bill";
    case spend_basis::mixed:
      return "mixed";
  }
  return "none";
}

// ---- one line ----

struct line_parser::impl {
  unsigned char parse_stack[1024];
  unsigned char storage[parse_buffer_bytes];
  json::parse_options options;
  impl() { options.max_depth = max_json_depth; }
};

line_parser::line_parser() : impl_(std::make_unique<impl>()) {}
line_parser::~line_parser() = default;

result<void> line_parser::parse(std::string_view line, log_record& out) {
  if (line.size() > max_line_bytes) {
    return make_error(errc::malformed_request,
                      "line longer than " + std::to_string(max_line_bytes) + " bytes");
  }
  json::monotonic_resource memory(impl_->storage, sizeof impl_->storage);
  json::parser parser(json::storage_ptr(), impl_->options, impl_->parse_stack,
                      sizeof impl_->parse_stack);
  parser.reset(&memory);
  json::error_code ec;
  parser.write(line.data(), line.size(), ec);
  if (ec) return make_error(errc::malformed_request, "not JSON: " + ec.message());
  const json::value value = parser.release();
  if (!value.is_object()) return make_error(errc::malformed_request, "not a JSON object");
  const json::object& o = value.get_object();

  const json::value* kind = field(o, "kind", "");
  if (kind == nullptr) return make_error(errc::missing_field, "kind: missing");
  const auto k = kind_of(*kind);
  if (!k) {
    return make_error(errc::invalid_field, "kind: not BID, WIN, BILL, LOSS, CLICK or CONVERSION");
  }
  out.kind = *k;

  const json::value* time = field(o, "time_ms", "timeMs");
  if (time == nullptr) return make_error(errc::missing_field, "time_ms: missing");
  const auto t = as_int64(*time);
  if (!t || *t < 0) return make_error(errc::invalid_field, "time_ms: expected an integer >= 0");
  out.time_ms = *t;

  const bool conversion = out.kind == event_kind::conversion;
  out.credited_by = events::attribution::unattributed;
  if (conversion) {
    const json::value* rule = field(o, "attribution", "");
    if (rule == nullptr) return make_error(errc::missing_field, "attribution: missing");
    const auto credited =
        rule->is_string() ? events::attribution_from_string(rule->get_string()) : std::nullopt;
    if (!credited) {
      return make_error(errc::invalid_field,
                        "attribution: expected last_click, last_view or unattributed");
    }
    out.credited_by = *credited;
  }
  // Only an unattributed conversion may lack the campaign (the advertiser named none).
  const bool campaign_optional = conversion && out.credited_by == events::attribution::unattributed;
  const json::value* campaign = field(o, "campaign_id", "campaignId");
  out.campaign_id.clear();
  if (campaign == nullptr && !campaign_optional) {
    return make_error(errc::missing_field, "campaign_id: missing");
  }
  if (campaign != nullptr) {
    if (!campaign->is_string() || (campaign->get_string().empty() && !campaign_optional)) {
      return make_error(errc::invalid_field, "campaign_id: expected a non-empty string");
    }
    out.campaign_id = campaign->get_string();
  }

  auto text = [&](std::string_view name, std::string_view camel, std::string& to) -> result<void> {
    to.clear();
    const json::value* v = field(o, name, camel);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      return make_error(errc::invalid_field, std::string(name) + ": expected a string");
    }
    to = v->get_string();
    return {};
  };
  auto price = [&](std::string_view name, std::string_view camel,
                   std::int64_t& to) -> result<void> {
    to = 0;
    const json::value* v = field(o, name, camel);
    if (v == nullptr) return {};
    const auto micros = as_int64(*v);
    if (!micros || *micros < 0) {
      return make_error(errc::invalid_field, std::string(name) + ": expected an integer >= 0");
    }
    to = *micros;
    return {};
  };
  if (auto r = text("creative_id", "creativeId", out.creative_id); !r) return r;
  if (auto r = text("bid_id", "bidId", out.bid_id); !r) return r;
  if (auto r = text("features", "", out.features); !r) return r;
  if (auto r = text("model", "", out.model); !r) return r;
  if (auto r = text("currency", "", out.currency); !r) return r;
  if (auto r = text("exchange", "", out.exchange); !r) return r;
  {
    std::string experiment, arm;
    if (auto r = text("experiment", "", experiment); !r) return r;
    if (auto r = text("arm", "", arm); !r) return r;
    out.arm = experiment.empty() || arm.empty() ? std::string() : experiment + "/" + arm;
  }
  if (auto r = price("bid_price_micros", "bidPriceMicros", out.bid_price_micros); !r) return r;
  if (auto r = price("clearing_price_micros", "clearingPriceMicros", out.clearing_price_micros);
      !r) {
    return r;
  }
  out.charged.reset();
  if (const json::value* charged = field(o, "charged", "charged")) {
    if (!charged->is_bool())
      return make_error(errc::invalid_field, "charged: expected true or false");
    out.charged = charged->get_bool();
  }
  out.conversion_id.clear();
  out.value_micros = 0;
  if (conversion) {
    if (auto r = text("conversion_id", "conversionId", out.conversion_id); !r) return r;
    // The key that drops a conversion written twice (see report_builder::add).
    if (out.conversion_id.empty()) return make_error(errc::missing_field, "conversion_id: missing");
    if (auto r = price("value_micros", "valueMicros", out.value_micros); !r) return r;
  }
  return {};
}

// ---- sums ----

money campaign_summary::spend() const noexcept {
  return money::from_micros(divide_rounded(paid_cpm_micros, 1000));
}
std::optional<double> campaign_summary::win_rate() const noexcept {
  if (bids == 0) return std::nullopt;
  return static_cast<double>(wins) / static_cast<double>(bids);
}
std::optional<money> campaign_summary::ecpm() const noexcept {
  if (impressions == 0) return std::nullopt;
  return money::from_micros(divide_rounded(paid_cpm_micros, impressions));
}
std::optional<money> campaign_summary::average_bid_price() const noexcept {
  if (wins == 0) return std::nullopt;
  return money::from_micros(divide_rounded(win_bid_cpm_micros, wins));
}
std::optional<money> campaign_summary::average_clearing_price() const noexcept {
  if (wins == 0) return std::nullopt;
  return money::from_micros(divide_rounded(win_clear_cpm_micros, wins));
}
std::optional<double> campaign_summary::clearing_to_bid() const noexcept {
  if (win_bid_cpm_micros == 0) return std::nullopt;
  return static_cast<double>(win_clear_cpm_micros) / static_cast<double>(win_bid_cpm_micros);
}
std::optional<double> campaign_summary::click_through_rate() const noexcept {
  if (impressions == 0) return std::nullopt;
  return static_cast<double>(clicks) / static_cast<double>(impressions);
}
std::optional<money> campaign_summary::cost_per_click() const noexcept {
  if (clicks == 0) return std::nullopt;
  // spend / clicks = paid_cpm_micros / (1000 * clicks), rounded once.
  const auto wide = static_cast<unsigned __int128>(static_cast<std::uint64_t>(paid_cpm_micros));
  const unsigned __int128 divisor = static_cast<unsigned __int128>(clicks) * 1000;
  return money::from_micros(static_cast<std::int64_t>((wide + divisor / 2) / divisor));
}

std::optional<double> campaign_summary::conversion_rate() const noexcept {
  if (clicks == 0) return std::nullopt;
  return static_cast<double>(conversions()) / static_cast<double>(clicks);
}
std::optional<double> campaign_summary::conversions_per_mille() const noexcept {
  if (impressions == 0) return std::nullopt;
  return static_cast<double>(conversions()) * 1000 / static_cast<double>(impressions);
}
std::optional<money> campaign_summary::cost_per_acquisition() const noexcept {
  if (conversions() == 0) return std::nullopt;
  // spend / conversions = paid_cpm_micros / (1000 * conversions), rounded once.
  const auto wide = static_cast<unsigned __int128>(static_cast<std::uint64_t>(paid_cpm_micros));
  const unsigned __int128 divisor = static_cast<unsigned __int128>(conversions()) * 1000;
  return money::from_micros(static_cast<std::int64_t>((wide + divisor / 2) / divisor));
}
std::optional<double> campaign_summary::return_on_ad_spend() const noexcept {
  if (paid_cpm_micros == 0) return std::nullopt;
  // value / (paid_cpm_micros / 1000), from the unrounded spend.
  return static_cast<double>(conversion_value_micros) * 1000 / static_cast<double>(paid_cpm_micros);
}

namespace {
constexpr double z95 = 1.959963984540054;  // the standard normal's 97.5th percentile
}  // namespace

std::optional<campaign_summary::interval> campaign_summary::cpa_interval() const noexcept {
  const auto n = static_cast<double>(conversions());
  if (n == 0) return std::nullopt;
  const double spent = static_cast<double>(paid_cpm_micros) / 1000 / 1e6;
  const double margin = z95 * std::sqrt(n);
  interval out;
  out.low = spent / (n + margin);
  if (n - margin > 0) out.high = spent / (n - margin);
  return out;
}

std::optional<campaign_summary::interval> campaign_summary::roas_interval() const noexcept {
  if (paid_cpm_micros == 0) return std::nullopt;
  const double spent = static_cast<double>(paid_cpm_micros) / 1000 / 1e6;
  const double value = static_cast<double>(conversion_value_micros) / 1e6;
  const double margin = z95 * std::sqrt(conversion_value_squares);
  return interval{.low = std::max(0.0, value - margin) / spent, .high = (value + margin) / spent};
}

std::optional<difference> roas_difference(const campaign_summary& a,
                                          const campaign_summary& b) noexcept {
  if (a.paid_cpm_micros == 0 || b.paid_cpm_micros == 0) return std::nullopt;
  const double spent_a = static_cast<double>(a.paid_cpm_micros) / 1000 / 1e6;
  const double spent_b = static_cast<double>(b.paid_cpm_micros) / 1000 / 1e6;
  const double estimate = static_cast<double>(a.conversion_value_micros) / 1e6 / spent_a -
                          static_cast<double>(b.conversion_value_micros) / 1e6 / spent_b;
  const double margin = z95 * std::sqrt(a.conversion_value_squares / (spent_a * spent_a) +
                                        b.conversion_value_squares / (spent_b * spent_b));
  return difference{.estimate = estimate, .low = estimate - margin, .high = estimate + margin};
}

std::optional<difference> cpa_difference(const campaign_summary& a,
                                         const campaign_summary& b) noexcept {
  const auto n_a = static_cast<double>(a.conversions());
  const auto n_b = static_cast<double>(b.conversions());
  if (n_a == 0 || n_b == 0) return std::nullopt;
  const double cpa_a = static_cast<double>(a.paid_cpm_micros) / 1000 / 1e6 / n_a;
  const double cpa_b = static_cast<double>(b.paid_cpm_micros) / 1000 / 1e6 / n_b;
  const double estimate = cpa_a - cpa_b;
  const double margin = z95 * std::sqrt(cpa_a * cpa_a / n_a + cpa_b * cpa_b / n_b);
  return difference{.estimate = estimate, .low = estimate - margin, .high = estimate + margin};
}

void report_builder::exchange_sums::add(const exchange_sums& o) noexcept {
  wins += o.wins;
  bills += o.bills;
  win_cpm_micros += o.win_cpm_micros;
  bill_cpm_micros += o.bill_cpm_micros;
  charged += o.charged;
  charged_cpm_micros += o.charged_cpm_micros;
  charged_wins = charged_wins || o.charged_wins;
  charged_bills = charged_bills || o.charged_bills;
  legacy_wins += o.legacy_wins;
  legacy_bills += o.legacy_bills;
  legacy_win_cpm_micros += o.legacy_win_cpm_micros;
  legacy_bill_cpm_micros += o.legacy_bill_cpm_micros;
}

report_builder::report_builder(report_query query) : query_(std::move(query)) {
  if (query_.from) from_ms_ = day_start_ms(*query_.from);
  if (query_.to) to_end_ms_ = day_start_ms(*query_.to + days(1));
}

void report_builder::add(const log_record& record, read_stats& stats) {
  const bool conversion = record.kind == event_kind::conversion;
  // At-least-once writing: a conversion's second line is dropped whatever the filters, so that
  // `duplicates` does not depend on them.
  if (conversion &&
      !conversions_seen_.emplace(record.conversion_id, record.campaign_id, record.time_ms).second) {
    ++stats.duplicates;
    return;
  }
  const group_by& g = query_.grouping;
  // A bid's segments are kept whatever the filters: its notices may fall in the range when it
  // does not.
  const bool bid = record.kind == event_kind::bid;
  if (g.segment && bid) {
    segments_of(record.features, scratch_segments_);
    if (!scratch_segments_.empty() && !record.bid_id.empty()) {
      bid_segments_.insert_or_assign(record.bid_id, scratch_segments_);
    }
  }
  if ((from_ms_ && record.time_ms < *from_ms_) || (to_end_ms_ && record.time_ms >= *to_end_ms_) ||
      (query_.campaign_id && record.campaign_id != *query_.campaign_id) ||
      (query_.exchange && record.exchange != *query_.exchange)) {
    ++stats.filtered;
    return;
  }
  ++stats.events;
  const sys_days day = day_of_ms(record.time_ms);
  if (conversion && record.credited_by == events::attribution::unattributed) {
    auto& [count, value] = unattributed_[{day, record.currency}];
    ++count;
    value += record.value_micros;
    return;
  }
  // The row's key, built in reused strings: no allocation per event once the rows exist.
  auto& [campaign, creative, exchange, key_day, currency, arm, segment] = scratch_key_;
  campaign.assign(g.campaign ? std::string_view(record.campaign_id) : std::string_view());
  creative.assign(g.creative ? std::string_view(record.creative_id) : std::string_view());
  exchange.assign(g.exchange ? std::string_view(record.exchange) : std::string_view());
  key_day = g.day ? day : sys_days{};
  currency.assign(record.currency);
  arm.assign(g.arm ? std::string_view(record.arm) : std::string_view());
  segment.clear();
  std::string_view segments;  // '\n'-terminated names
  if (g.segment) {
    if (bid) {
      segments = scratch_segments_;
    } else if (auto it = bid_segments_.find(record.bid_id); it != bid_segments_.end()) {
      segments = it->second;
    }
  }
  if (segments.empty()) {
    add_to_row(record);
    return;
  }
  for (std::size_t at = 0; at < segments.size();) {
    const std::size_t end = segments.find('\n', at);
    segment.assign(segments.substr(at, end - at));
    add_to_row(record);
    at = end + 1;
  }
}

void report_builder::add_to_row(const log_record& record) {
  auto row = rows_.find(scratch_key_);
  if (row == rows_.end()) row = rows_.emplace(scratch_key_, sums{}).first;
  sums& s = row->second;
  switch (record.kind) {
    case event_kind::bid:
      ++s.bids;
      if (!record.model.empty() && !s.models.contains(record.model)) s.models.insert(record.model);
      break;
    case event_kind::win:
    case event_kind::bill: {
      const bool win = record.kind == event_kind::win;
      scratch_pair_.first.assign(record.campaign_id);
      scratch_pair_.second.assign(record.exchange);
      auto found = s.by_exchange.find(scratch_pair_);
      if (found == s.by_exchange.end())
        found = s.by_exchange.emplace(scratch_pair_, exchange_sums{}).first;
      exchange_sums& e = found->second;
      ++(win ? e.wins : e.bills);
      (win ? e.win_cpm_micros : e.bill_cpm_micros) += record.clearing_price_micros;
      if (win) s.win_bid_cpm_micros += record.bid_price_micros;
      if (record.charged) {
        if (*record.charged) {
          ++e.charged;
          e.charged_cpm_micros += record.clearing_price_micros;
          (win ? e.charged_wins : e.charged_bills) = true;
        }
      } else {
        ++(win ? e.legacy_wins : e.legacy_bills);
        (win ? e.legacy_win_cpm_micros : e.legacy_bill_cpm_micros) += record.clearing_price_micros;
        if (win) {
          billed_.try_emplace({record.campaign_id, record.exchange}, false);
        } else {
          billed_[{record.campaign_id, record.exchange}] = true;
        }
      }
      break;
    }
    case event_kind::loss:
      ++s.losses;
      break;
    case event_kind::click:
      ++s.clicks;
      break;
    case event_kind::conversion:
      ++(record.credited_by == events::attribution::last_click ? s.last_click : s.last_view);
      s.conversion_value_micros += record.value_micros;
      s.conversion_value_squares += static_cast<double>(record.value_micros) *
                                    static_cast<double>(record.value_micros) / 1e12;
      break;
  }
}

report report_builder::finish(read_stats stats) const {
  // Currency-less events join their group's single currency (File: block).
  auto without_currency = [](const key& k) {
    return std::tuple(std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k),
                      std::get<5>(k), std::get<6>(k));
  };
  std::map<key, sums> rows;
  std::map<decltype(without_currency(key{})), std::set<std::string>> currencies;
  for (const auto& [k, s] : rows_) {
    if (!std::get<4>(k).empty()) currencies[without_currency(k)].insert(std::get<4>(k));
  }
  for (const auto& [k, s] : rows_) {
    key target = k;
    if (std::get<4>(k).empty()) {
      auto it = currencies.find(without_currency(k));
      if (it != currencies.end() && it->second.size() == 1)
        std::get<4>(target) = *it->second.begin();
    }
    sums& into = rows[target];
    into.bids += s.bids;
    into.losses += s.losses;
    into.clicks += s.clicks;
    into.win_bid_cpm_micros += s.win_bid_cpm_micros;
    into.last_click += s.last_click;
    into.last_view += s.last_view;
    into.conversion_value_micros += s.conversion_value_micros;
    into.conversion_value_squares += s.conversion_value_squares;
    for (const auto& [pair, e] : s.by_exchange) into.by_exchange[pair].add(e);
    into.models.insert(s.models.begin(), s.models.end());
  }

  report out;
  out.grouping = query_.grouping;
  auto merge_basis = [](spend_basis a, spend_basis b) {
    if (a == spend_basis::none) return b;
    if (b == spend_basis::none || a == b) return a;
    return spend_basis::mixed;
  };
  // (campaign, creative, exchange, arm, segment, currency) -> the group's total over the range.
  using total_key =
      std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>;
  std::map<total_key, campaign_summary> totals;
  for (const auto& [k, s] : rows) {
    const auto& [campaign, creative, exchange, day, currency, arm, segment] = k;
    campaign_summary row;
    row.campaign_id = campaign;
    row.creative_id = creative;
    row.exchange = exchange;
    row.arm = arm;
    row.segment = segment;
    if (query_.grouping.day) row.day = day;
    row.currency = currency;
    row.bids = s.bids;
    row.models = s.models;
    row.losses = s.losses;
    row.clicks = s.clicks;
    row.win_bid_cpm_micros = s.win_bid_cpm_micros;
    row.last_click_conversions = s.last_click;
    row.last_view_conversions = s.last_view;
    row.conversion_value_micros = s.conversion_value_micros;
    row.conversion_value_squares = s.conversion_value_squares;
    for (const auto& [pair, e] : s.by_exchange) {
      row.wins += e.wins;
      row.bills += e.bills;
      row.win_clear_cpm_micros += e.win_cpm_micros;
      // What the ledger counted, from the notices that say so.
      row.impressions += e.charged;
      row.paid_cpm_micros += e.charged_cpm_micros;
      if (e.charged_wins) row.basis = merge_basis(row.basis, spend_basis::win);
      if (e.charged_bills) row.basis = merge_basis(row.basis, spend_basis::bill);
      // Older lines: bill basis when the (campaign, exchange) pair ever saw a bill.
      if (e.legacy_wins + e.legacy_bills != 0) {
        const auto billed = billed_.find(pair);
        const bool by_bill = billed != billed_.end() && billed->second;
        row.impressions += by_bill ? e.legacy_bills : e.legacy_wins;
        row.paid_cpm_micros += by_bill ? e.legacy_bill_cpm_micros : e.legacy_win_cpm_micros;
        row.basis = merge_basis(row.basis, by_bill ? spend_basis::bill : spend_basis::win);
      }
    }
    if (query_.grouping.day) {
      campaign_summary& t = totals[{campaign, creative, exchange, arm, segment, currency}];
      t.campaign_id = campaign;
      t.creative_id = creative;
      t.exchange = exchange;
      t.arm = arm;
      t.segment = segment;
      t.currency = currency;
      t.bids += row.bids;
      t.models.insert(row.models.begin(), row.models.end());
      t.wins += row.wins;
      t.bills += row.bills;
      t.losses += row.losses;
      t.clicks += row.clicks;
      t.impressions += row.impressions;
      t.paid_cpm_micros += row.paid_cpm_micros;
      t.win_bid_cpm_micros += row.win_bid_cpm_micros;
      t.win_clear_cpm_micros += row.win_clear_cpm_micros;
      t.basis = merge_basis(t.basis, row.basis);
      t.last_click_conversions += row.last_click_conversions;
      t.last_view_conversions += row.last_view_conversions;
      t.conversion_value_micros += row.conversion_value_micros;
      t.conversion_value_squares += row.conversion_value_squares;
    }
    out.days.push_back(std::move(row));
  }
  // rows is ordered by (campaign, creative, exchange, day, currency); present the days of each
  // group and currency together, as the totals are.
  std::stable_sort(out.days.begin(), out.days.end(), [](const auto& a, const auto& b) {
    return std::tie(a.campaign_id, a.creative_id, a.exchange, a.arm, a.segment, a.currency) <
           std::tie(b.campaign_id, b.creative_id, b.exchange, b.arm, b.segment, b.currency);
  });
  for (auto& [k, t] : totals) out.totals.push_back(std::move(t));
  if (query_.grouping.arm) {
    // Each pair of arms of one experiment in one group, over the range.
    const std::vector<campaign_summary>& range = query_.grouping.day ? out.totals : out.days;
    for (std::size_t i = 0; i < range.size(); ++i) {
      const campaign_summary& a = range[i];
      const std::size_t slash = a.arm.find('/');
      if (slash == std::string::npos) continue;
      const std::string_view experiment = std::string_view(a.arm).substr(0, slash);
      for (std::size_t j = i + 1; j < range.size(); ++j) {
        const campaign_summary& b = range[j];
        if (std::tie(a.campaign_id, a.creative_id, a.exchange, a.segment, a.currency) !=
                std::tie(b.campaign_id, b.creative_id, b.exchange, b.segment, b.currency) ||
            b.arm.size() <= slash || b.arm[slash] != '/' || !b.arm.starts_with(experiment)) {
          continue;
        }
        const bool a_first = a.arm < b.arm;
        const campaign_summary& first = a_first ? a : b;
        const campaign_summary& second = a_first ? b : a;
        out.arm_differences.push_back({.campaign_id = a.campaign_id,
                                       .creative_id = a.creative_id,
                                       .exchange = a.exchange,
                                       .currency = a.currency,
                                       .experiment = std::string(experiment),
                                       .arm_a = first.arm,
                                       .arm_b = second.arm,
                                       .roas = roas_difference(first, second),
                                       .cpa = cpa_difference(first, second)});
      }
    }
  }
  for (const auto& [k, v] : unattributed_) {
    out.unattributed.push_back(
        {.day = k.first, .currency = k.second, .conversions = v.first, .value_micros = v.second});
  }
  out.input = std::move(stats);
  return out;
}

// ---- files ----

namespace {

void note_problem(read_stats& stats, std::string problem) {
  if (stats.problems.size() < max_problems) stats.problems.push_back(std::move(problem));
}

// Reads `path` line by line into `builder`, with bounded memory whatever the file holds.
// Reads one log file, handing each well-formed record to add(record, stats).
template <class Add>
void read_file(const std::filesystem::path& path, line_parser& parser, Add&& add, read_stats& stats,
               std::string& chunk, std::string& pending) {
  const std::string name = path.filename().string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ++stats.unreadable_files;
    note_problem(stats, name + ": cannot open: " + std::strerror(errno));
    return;
  }
  ++stats.files;
  log_record record;
  std::uint64_t line_number = 0;
  bool overlong = false;  // the pending line passed max_line_bytes; skip to its newline
  auto finish_line = [&](std::string_view line) {
    ++line_number;
    ++stats.lines;
    if (overlong) {
      ++stats.malformed;
      note_problem(stats, name + ":" + std::to_string(line_number) + ": line longer than " +
                              std::to_string(max_line_bytes) + " bytes");
      overlong = false;
      return;
    }
    if (auto r = parser.parse(line, record); !r) {
      ++stats.malformed;
      note_problem(stats, name + ":" + std::to_string(line_number) + ": " + r.error().message);
      return;
    }
    add(record, stats);
  };
  chunk.resize(read_chunk_bytes);
  pending.clear();
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ++stats.unreadable_files;
      note_problem(stats, name + ": read failed after line " + std::to_string(line_number) + ": " +
                              std::strerror(errno));
      pending.clear();
      overlong = false;
      break;
    }
    if (n == 0) break;
    std::string_view data(chunk.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
      const std::size_t newline = data.find('\n');
      const std::string_view piece = data.substr(0, newline);
      if (!overlong) {
        if (pending.size() + piece.size() > max_line_bytes) {
          overlong = true;
          pending.clear();
        } else if (newline != std::string_view::npos && pending.empty()) {
          finish_line(piece);  // the usual case: the whole line is in this chunk
          data.remove_prefix(newline + 1);
          continue;
        } else {
          pending.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      finish_line(pending);
      pending.clear();
      data.remove_prefix(newline + 1);
    }
  }
  ::close(fd);
  if (!pending.empty() || overlong) {
    // No newline at the end: the process died mid-write, or the file is being written now.
    ++line_number;
    ++stats.lines;
    ++stats.cut_short;
    note_problem(stats, name + ":" + std::to_string(line_number) + ": cut short (no newline)");
  }
}

}  // namespace

namespace {

// The log files of `query`'s directory that may hold events of its day range, sorted by name
// (which sorts them by open time).
result<std::vector<std::filesystem::path>> log_files(const report_query& query, read_stats& stats) {
  std::error_code ec;
  if (!std::filesystem::is_directory(query.dir, ec)) {
    return make_error(errc::not_found,
                      "event log directory " + query.dir.string() + ": no such directory");
  }
  std::vector<std::filesystem::path> files;
  std::filesystem::directory_iterator it(query.dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto log_file = events::parse_log_file_name(name);
    if (!log_file) continue;  // not the log's: a temporary file, a cursor, a copy
    const auto opened = log_file->opened;
    const bool too_early = query.from && opened + file_span_margin < sys_days(*query.from);
    const bool too_late = query.to && opened >= *query.to + days(1) + file_late_margin;
    if (too_early || too_late) {
      ++stats.files_skipped;
      continue;
    }
    files.push_back(it->path());
  }
  if (ec) {
    return make_error(errc::io_error, "event log directory " + query.dir.string() +
                                          ": cannot list: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

result<report> build_report(const report_query& query) {
  if (query.from && query.to && *query.from > *query.to) {
    return make_error(errc::invalid_field, "--from " + format_day(*query.from) + " is after --to " +
                                               format_day(*query.to));
  }
  read_stats stats;
  auto files = log_files(query, stats);
  if (!files) return files.error();
  report_builder builder(query);
  line_parser parser;
  std::string chunk, pending;
  auto add = [&](const log_record& record, read_stats& s) { builder.add(record, s); };
  for (const auto& path : *files) read_file(path, parser, add, stats, chunk, pending);
  return builder.finish(std::move(stats));
}

result<read_stats> read_log(const std::filesystem::path& dir,
                            const std::function<void(const log_record&)>& each) {
  read_stats stats;
  auto files = log_files({.dir = dir}, stats);
  if (!files) return files.error();
  line_parser parser;
  std::string chunk, pending;
  auto add = [&](const log_record& record, read_stats&) { each(record); };
  for (const auto& path : *files) read_file(path, parser, add, stats, chunk, pending);
  return stats;
}

// ---- output ----

namespace {

// What a report cannot tell, for the footers (File: block).
constexpr std::string_view not_in_log = "requests matched (the log starts at a bid)";
// Grouped by segment, the footers say that the rows overlap.
constexpr std::string_view segment_rows_overlap =
    "a bid with several segments counts in each of their rows: the rows overlap";

struct column {
  std::string_view title;
  bool left;  // text columns align left, numbers right
};

// The grouped dimensions' columns, then currency, then the sums and rates (the ROI ones after
// the older ones, so that a CSV reader of the older columns keeps its positions).
constexpr column day_column{"day", true}, campaign_column{"campaign", true},
    creative_column{"creative", true}, exchange_column{"exchange", true}, arm_column{"arm", true},
    segment_column{"segment", true};
constexpr column metric_columns[] = {
    {"currency", true},      {"bids", false},           {"wins", false},
    {"win_rate", false},     {"impressions", false},    {"spend", false},
    {"ecpm", false},         {"avg_bid", false},        {"avg_clearing", false},
    {"clearing/bid", false}, {"clicks", false},         {"ctr", false},
    {"cpc", false},          {"basis", true},           {"conversions", false},
    {"last_click", false},   {"last_view", false},      {"conv_value", false},
    {"cvr", false},          {"conv_per_mille", false}, {"cpa", false},
    {"roas", false},         {"models", true}};

std::vector<column> columns_of(const group_by& g) {
  std::vector<column> out;
  if (g.day) out.push_back(day_column);
  if (g.campaign) out.push_back(campaign_column);
  if (g.creative) out.push_back(creative_column);
  if (g.exchange) out.push_back(exchange_column);
  if (g.arm) out.push_back(arm_column);
  if (g.segment) out.push_back(segment_column);
  out.insert(out.end(), std::begin(metric_columns), std::end(metric_columns));
  return out;
}

// The pricing models of a row, "learned+rules" ("-" for none: a row without bids).
std::string join_models(const std::set<std::string>& models) {
  std::string out;
  for (const std::string& m : models) {
    if (!out.empty()) out += '+';
    out += m;
  }
  return out.empty() ? "-" : out;
}

// One row's cells; `undefined` stands for a rate without a denominator.
std::vector<std::string> cells(const campaign_summary& s, const group_by& g,
                               std::string_view undefined, bool percent) {
  auto money_cell = [&](const std::optional<money>& m) {
    return m ? format_micros(m->micros()) : std::string(undefined);
  };
  auto rate_cell = [&](const std::optional<double>& r) {
    if (!r) return std::string(undefined);
    return percent ? format_ratio(*r * 100, 2) + "%" : format_ratio(*r, 6);
  };
  auto ratio_cell = [&](const std::optional<double>& r, int decimals) {
    return r ? format_ratio(*r, decimals) : std::string(undefined);
  };
  std::vector<std::string> out;
  if (g.day) out.push_back(s.day ? format_day(*s.day) : std::string("total"));
  if (g.campaign) out.push_back(s.campaign_id);
  if (g.creative) out.push_back(s.creative_id);
  if (g.exchange) out.push_back(s.exchange);
  if (g.arm) out.push_back(s.arm);
  if (g.segment) out.push_back(s.segment.empty() ? std::string(undefined) : s.segment);
  for (std::string& cell : std::vector<std::string>{s.currency,
                                                    std::to_string(s.bids),
                                                    std::to_string(s.wins),
                                                    rate_cell(s.win_rate()),
                                                    std::to_string(s.impressions),
                                                    format_micros(s.spend().micros()),
                                                    money_cell(s.ecpm()),
                                                    money_cell(s.average_bid_price()),
                                                    money_cell(s.average_clearing_price()),
                                                    ratio_cell(s.clearing_to_bid(), 4),
                                                    std::to_string(s.clicks),
                                                    rate_cell(s.click_through_rate()),
                                                    money_cell(s.cost_per_click()),
                                                    std::string(to_string(s.basis)),
                                                    std::to_string(s.conversions()),
                                                    std::to_string(s.last_click_conversions),
                                                    std::to_string(s.last_view_conversions),
                                                    format_micros(s.conversion_value_micros),
                                                    rate_cell(s.conversion_rate()),
                                                    ratio_cell(s.conversions_per_mille(), 4),
                                                    money_cell(s.cost_per_acquisition()),
                                                    ratio_cell(s.return_on_ad_spend(), 4),
                                                    join_models(s.models)}) {
    out.push_back(std::move(cell));
  }
  return out;
}

// Aligned columns, trailing spaces trimmed.
std::string align(const std::vector<std::vector<std::string>>& table,
                  const std::vector<column>& columns) {
  std::vector<std::size_t> width(columns.size(), 0);
  for (const auto& row : table) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : table) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c != 0) line += "  ";
      const std::string pad(width[c] - row[c].size(), ' ');
      line += columns[c].left ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

bool same_group(const campaign_summary& a, const campaign_summary& b) {
  return std::tie(a.campaign_id, a.creative_id, a.exchange, a.arm, a.segment, a.currency) ==
         std::tie(b.campaign_id, b.creative_id, b.exchange, b.arm, b.segment, b.currency);
}

std::string render_table(const report& r) {
  const std::vector<column> columns = columns_of(r.grouping);
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> header;
  for (const column& c : columns) header.emplace_back(c.title);
  table.push_back(std::move(header));
  std::size_t next_total = 0;
  for (std::size_t i = 0; i < r.days.size(); ++i) {
    table.push_back(cells(r.days[i], r.grouping, "-", true));
    const bool last_of_group = i + 1 == r.days.size() || !same_group(r.days[i + 1], r.days[i]);
    if (last_of_group && next_total < r.totals.size()) {
      table.push_back(cells(r.totals[next_total++], r.grouping, "-", true));
    }
  }
  std::string out = align(table, columns);
  if (r.days.empty()) out += "(no events in the range)\n";
  if (!r.unattributed.empty()) {
    const std::vector<column> side = {
        {"day", true}, {"currency", true}, {"conversions", false}, {"conv_value", false}};
    std::vector<std::vector<std::string>> rows = {{"day", "currency", "conversions", "conv_value"}};
    for (const auto& u : r.unattributed) {
      rows.push_back({format_day(u.day), u.currency, std::to_string(u.conversions),
                      format_micros(u.value_micros)});
    }
    out += "\nunattributed conversions (no touch in the attribution windows; in no row above):\n";
    out += align(rows, side);
  }
  if (!r.arm_differences.empty()) {
    // The group's dimensions that the report is grouped by, then the comparison.
    const group_by& g = r.grouping;
    std::vector<column> side;
    if (g.campaign) side.push_back(campaign_column);
    if (g.creative) side.push_back(creative_column);
    if (g.exchange) side.push_back(exchange_column);
    for (const column& c :
         {column{"arm_a", true}, column{"arm_b", true}, column{"currency", true},
          column{"roas_a-b", false}, column{"roas_a-b_ci95", false}, column{"cpa_a-b", false},
          column{"cpa_a-b_ci95", false}, column{"differ", true}}) {
      side.push_back(c);
    }
    std::vector<std::vector<std::string>> rows(1);
    for (const column& c : side) rows[0].emplace_back(c.title);
    auto estimate = [](const std::optional<difference>& d, int decimals) {
      return d ? format_ratio(d->estimate, decimals) : std::string("-");
    };
    auto range = [](const std::optional<difference>& d, int decimals) {
      return d ? "[" + format_ratio(d->low, decimals) + ", " + format_ratio(d->high, decimals) + "]"
               : std::string("-");
    };
    for (const arm_comparison& c : r.arm_differences) {
      std::vector<std::string> row;
      if (g.campaign) row.push_back(c.campaign_id);
      if (g.creative) row.push_back(c.creative_id);
      if (g.exchange) row.push_back(c.exchange);
      for (std::string& cell :
           std::vector<std::string>{c.arm_a, c.arm_b, c.currency, estimate(c.roas, 4),
                                    range(c.roas, 4), estimate(c.cpa, 2), range(c.cpa, 2),
                                    c.roas ? (c.roas->differs() ? "yes" : "no") : "-"}) {
        row.push_back(std::move(cell));
      }
      rows.push_back(std::move(row));
    }
    out +=
        "\narm differences (a - b over the range, 95 % intervals; the arms differ when the ROAS "
        "interval excludes 0):\n";
    out += align(rows, side);
  }
  out += "\nattribution: " + std::string(attribution_model) +
         " (the rule each conversion line carries); rows by " +
         (to_string(r.grouping).empty() ? std::string("currency")
                                        : to_string(r.grouping) + ",currency") +
         "; not available: " + std::string(not_in_log) +
         (r.grouping.segment ? "; " + std::string(segment_rows_overlap) : std::string()) + "\n";
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string render_csv(const report& r) {
  const std::vector<column> columns = columns_of(r.grouping);
  std::string out;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c != 0) out += ',';
    out += columns[c].title;
  }
  out += '\n';
  for (const auto& s : r.days) {
    const auto row = cells(s, r.grouping, "", false);
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c != 0) out += ',';
      out += csv_field(row[c]);
    }
    out += '\n';
  }
  return out;
}

void json_summary(std::string& out, const campaign_summary& s, const group_by& g) {
  auto key = [&](std::string_view name) {
    out += ",\"";
    out += name;
    out += "\":";
  };
  auto money_value = [&](std::string_view name, const std::optional<money>& m) {
    key(name);
    out += m ? format_micros(m->micros()) : "null";
  };
  auto ratio_value = [&](std::string_view name, const std::optional<double>& v) {
    key(name);
    out += v ? format_ratio(*v, 6) : "null";
  };
  auto count = [&](std::string_view name, std::uint64_t n) {
    key(name);
    out += std::to_string(n);
  };
  out += "{\"day\":";
  if (s.day) {
    append_json_string(out, format_day(*s.day));
  } else {
    out += "null";
  }
  if (g.campaign) key("campaign_id"), append_json_string(out, s.campaign_id);
  if (g.creative) key("creative_id"), append_json_string(out, s.creative_id);
  if (g.exchange) key("exchange"), append_json_string(out, s.exchange);
  if (g.arm) key("arm"), append_json_string(out, s.arm);
  if (g.segment) key("segment"), append_json_string(out, s.segment);
  key("models");
  out += '[';
  for (const std::string& m : s.models) {
    if (out.back() != '[') out += ',';
    append_json_string(out, m);
  }
  out += ']';
  key("currency");
  append_json_string(out, s.currency);
  count("bids", s.bids);
  count("wins", s.wins);
  count("bills", s.bills);
  count("losses", s.losses);
  ratio_value("win_rate", s.win_rate());
  count("impressions", s.impressions);
  money_value("spend", s.spend());
  money_value("ecpm", s.ecpm());
  money_value("average_bid_price", s.average_bid_price());
  money_value("average_clearing_price", s.average_clearing_price());
  ratio_value("clearing_to_bid", s.clearing_to_bid());
  count("clicks", s.clicks);
  ratio_value("ctr", s.click_through_rate());
  money_value("cost_per_click", s.cost_per_click());
  key("spend_basis");
  append_json_string(out, to_string(s.basis));
  count("conversions", s.conversions());
  count("last_click_conversions", s.last_click_conversions);
  count("last_view_conversions", s.last_view_conversions);
  money_value("conversion_value", s.conversion_value());
  ratio_value("cvr", s.conversion_rate());
  ratio_value("conversions_per_mille", s.conversions_per_mille());
  money_value("cpa", s.cost_per_acquisition());
  ratio_value("roas", s.return_on_ad_spend());
  // 95 % intervals (report.hpp says how): [low, high], high null when unbounded.
  auto interval_value = [&](std::string_view name,
                            const std::optional<campaign_summary::interval>& i) {
    key(name);
    if (!i) {
      out += "null";
      return;
    }
    out +=
        '[' + format_ratio(i->low, 6) + ',' + (i->high ? format_ratio(*i->high, 6) : "null") + ']';
  };
  interval_value("cpa_ci95", s.cpa_interval());
  interval_value("roas_ci95", s.roas_interval());
  out += '}';
}

std::string render_json(const report& r) {
  std::string out = "{\"days\":[";
  for (std::size_t i = 0; i < r.days.size(); ++i) {
    out += i == 0 ? "\n  " : ",\n  ";
    json_summary(out, r.days[i], r.grouping);
  }
  out += "],\n\"totals\":[";
  for (std::size_t i = 0; i < r.totals.size(); ++i) {
    out += i == 0 ? "\n  " : ",\n  ";
    json_summary(out, r.totals[i], r.grouping);
  }
  out += "],\n\"unattributed\":[";
  for (std::size_t i = 0; i < r.unattributed.size(); ++i) {
    const unattributed_summary& u = r.unattributed[i];
    out += i == 0 ? "\n  " : ",\n  ";
    out += "{\"day\":";
    append_json_string(out, format_day(u.day));
    out += ",\"currency\":";
    append_json_string(out, u.currency);
    out += ",\"conversions\":" + std::to_string(u.conversions) +
           ",\"conversion_value\":" + format_micros(u.value_micros) + "}";
  }
  out += "],\n\"arm_differences\":[";
  for (std::size_t i = 0; i < r.arm_differences.size(); ++i) {
    const arm_comparison& c = r.arm_differences[i];
    out += i == 0 ? "\n  {" : ",\n  {";
    auto text_field = [&](std::string_view name, std::string_view value, bool first = false) {
      if (!first) out += ',';
      append_json_string(out, name);
      out += ':';
      append_json_string(out, value);
    };
    auto difference_fields = [&](std::string_view name, const std::optional<difference>& d) {
      out += ",\"" + std::string(name) + "\":" + (d ? format_ratio(d->estimate, 6) : "null");
      out += ",\"" + std::string(name) + "_ci95\":";
      out += d ? "[" + format_ratio(d->low, 6) + "," + format_ratio(d->high, 6) + "]" : "null";
    };
    text_field("experiment", c.experiment, true);
    if (r.grouping.campaign) text_field("campaign_id", c.campaign_id);
    if (r.grouping.creative) text_field("creative_id", c.creative_id);
    if (r.grouping.exchange) text_field("exchange", c.exchange);
    text_field("currency", c.currency);
    text_field("arm_a", c.arm_a);
    text_field("arm_b", c.arm_b);
    difference_fields("roas_difference", c.roas);
    difference_fields("cpa_difference", c.cpa);
    out += ",\"differ\":";
    out += c.roas && c.roas->differs() ? "true" : "false";
    out += '}';
  }
  out += "],\n\"group_by\":";
  append_json_string(out, to_string(r.grouping));
  out += ",\"attribution_model\":";
  append_json_string(out, attribution_model);
  out += ",\"not_available\":";
  append_json_string(out, not_in_log);
  if (r.grouping.segment) {
    out += ",\"segment_rows_overlap\":true";
  }
  const read_stats& in = r.input;
  out += ",\n\"input\":{\"files\":" + std::to_string(in.files) +
         ",\"files_skipped\":" + std::to_string(in.files_skipped) +
         ",\"unreadable_files\":" + std::to_string(in.unreadable_files) +
         ",\"lines\":" + std::to_string(in.lines) + ",\"events\":" + std::to_string(in.events) +
         ",\"filtered\":" + std::to_string(in.filtered) +
         ",\"malformed\":" + std::to_string(in.malformed) +
         ",\"cut_short\":" + std::to_string(in.cut_short) +
         ",\"duplicates\":" + std::to_string(in.duplicates) + ",\"problems\":[";
  for (std::size_t i = 0; i < in.problems.size(); ++i) {
    if (i != 0) out += ',';
    append_json_string(out, in.problems[i]);
  }
  out += "]}}\n";
  return out;
}

}  // namespace

std::string render(const report& r, report_format format) {
  switch (format) {
    case report_format::table:
      return render_table(r);
    case report_format::csv:
      return render_csv(r);
    case report_format::json:
      return render_json(r);
  }
  return render_table(r);
}

std::string describe_input(const read_stats& s) {
  std::string out = "read " + with_commas(s.files) + " file" + (s.files == 1 ? "" : "s") + ", " +
                    with_commas(s.lines) + " lines: " + with_commas(s.events) +
                    " events counted, " + with_commas(s.filtered) + " outside the filters, " +
                    with_commas(s.malformed) + " malformed, " + with_commas(s.cut_short) +
                    " cut short, " + with_commas(s.duplicates) + " duplicate conversions";
  if (s.files_skipped != 0) out += "; " + with_commas(s.files_skipped) + " files out of range";
  if (s.unreadable_files != 0) out += "; " + with_commas(s.unreadable_files) + " unreadable";
  return out;
}

}  // namespace bidder::reporting
