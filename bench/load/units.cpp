#include "bench/load/units.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace bidder::bench {
namespace {

// Splits "12.5ms" into 12.5 and "ms"; false when no number leads.
bool split_number(std::string_view text, double& value, std::string_view& suffix) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value, std::chars_format::fixed);
  if (ec != std::errc() || ptr == begin || !std::isfinite(value) || value < 0) return false;
  suffix = std::string_view(ptr, static_cast<std::size_t>(end - ptr));
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  double value = 0;
  std::string_view unit;
  if (!split_number(text, value, unit)) return std::nullopt;
  double scale = 0;
  if (unit == "ns") {
    scale = 1;
  } else if (unit == "us" || unit == "\xC2\xB5s") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "s" || unit.empty()) {
    scale = 1e9;
  } else if (unit == "m" || unit == "min") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else {
    return std::nullopt;
  }
  const double ns = value * scale;
  if (ns > 9.0e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
}

std::optional<double> parse_scaled(std::string_view text) {
  double value = 0;
  std::string_view suffix;
  if (!split_number(text, value, suffix)) return std::nullopt;
  if (suffix.empty()) return value;
  if (suffix == "k" || suffix == "K") return value * 1e3;
  if (suffix == "M") return value * 1e6;
  return std::nullopt;
}

std::string format_duration(std::chrono::nanoseconds d) {
  const double ns = static_cast<double>(d.count());
  char buffer[48];
  auto three = [&](double v, const char* unit) {
    const char* format = v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s";
    std::snprintf(buffer, sizeof buffer, format, v, unit);
    return std::string(buffer);
  };
  if (ns < 1e3) return three(ns, "ns");
  if (ns < 1e6) return three(ns / 1e3, "us");
  if (ns < 1e9) return three(ns / 1e6, "ms");
  return three(ns / 1e9, "s");
}

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_rate(double per_second) {
  return format_count(static_cast<std::uint64_t>(std::llround(per_second < 0 ? 0 : per_second))) +
         "/s";
}

}  // namespace bidder::bench
