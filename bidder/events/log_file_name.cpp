#include "bidder/events/log_file_name.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace bidder::events {
namespace {

constexpr std::string_view prefix = "events-";
constexpr std::string_view suffix = ".jsonl";
constexpr std::size_t stamp_bytes = 15;  // YYYYMMDD-HHMMSS

// Exactly `text` as a decimal number (no sign, no spaces), or nullopt.
template <class T>
std::optional<T> decimal(std::string_view text) noexcept {
  T value{};
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string format_log_file_name(std::chrono::system_clock::time_point opened,
                                 std::uint64_t number) {
  const std::time_t seconds =
      std::chrono::floor<std::chrono::seconds>(opened).time_since_epoch().count();
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char name[96];
  std::snprintf(name, sizeof name, "events-%04d%02d%02d-%02d%02d%02d-%llu.jsonl",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<unsigned long long>(number));
  return name;
}

std::optional<log_file_name> parse_log_file_name(std::string_view name) noexcept {
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  name.remove_suffix(suffix.size());
  if (name.size() < stamp_bytes + 2 || name[8] != '-' || name[stamp_bytes] != '-') {
    return std::nullopt;
  }
  const auto y = decimal<int>(name.substr(0, 4));
  const auto mo = decimal<unsigned>(name.substr(4, 2));
  const auto d = decimal<unsigned>(name.substr(6, 2));
  const auto h = decimal<int>(name.substr(9, 2));
  const auto mi = decimal<int>(name.substr(11, 2));
  const auto s = decimal<int>(name.substr(13, 2));
  const auto number = decimal<std::uint64_t>(name.substr(stamp_bytes + 1));
  if (!y || !mo || !d || !h || !mi || !s || !number) return std::nullopt;
  if (*h > 23 || *mi > 59 || *s > 60) return std::nullopt;  // 60: a leap second
  const std::chrono::year_month_day day{std::chrono::year(*y), std::chrono::month(*mo),
                                        std::chrono::day(*d)};
  if (!day.ok()) return std::nullopt;
  return log_file_name{std::chrono::sys_days(day) + std::chrono::hours(*h) +
                           std::chrono::minutes(*mi) + std::chrono::seconds(*s),
                       *number};
}

}  // namespace bidder::events
