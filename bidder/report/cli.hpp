// File: bidder/report/cli.hpp
//
// `bidder report`: sums the event log (bidder/events, docs/notices-and-spend.md) per
// campaign and UTC day, as a table, CSV or JSON. Offline: it reads the files, no bidder needed.
//
//   bidder report --dir data/events --from 2026-11-22 --to 2026-11-23 --format csv
#pragma once

#include <string_view>
#include <vector>

namespace bidder::reporting {

/// Runs `bidder report ARGS...` (ARGS without "report"); prints the report on stdout and a line
/// about what was read (and skipped) on stderr. Returns the exit code: 0 ok, 1 the directory
/// cannot be read, 2 bad usage.
int run_report_cli(const std::vector<std::string_view>& args);

}  // namespace bidder::reporting
