// File: bench/load/units.hpp
//
// Text <-> numbers for flags, checks and reports: durations ("10s", "500ms", "250us", "2m"),
// counts with SI suffixes ("50k", "2M", "10000"), and compact human formatting ("1.23 ms").
//
//   auto d = parse_duration("1.5s");          // 1'500'000'000 ns
//   std::string t = format_duration(d.value()); // "1.50 s"
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bidder::bench {

/// "<number><unit>" with unit ns, us (or µs), ms, s, m, h; a bare number is seconds. The
/// number may have a fraction. Negative values are refused. nullopt on bad text.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// A non-negative decimal number with an optional k (1e3) or M (1e6) suffix. nullopt on bad
/// text.
std::optional<double> parse_scaled(std::string_view text);

/// "850 ns", "12.3 us", "4.56 ms", "1.20 s" (three significant digits).
std::string format_duration(std::chrono::nanoseconds d);
/// "12,345"
std::string format_count(std::uint64_t n);
/// "12,345/s" (rounded)
std::string format_rate(double per_second);

}  // namespace bidder::bench
