// File: bidder/report/report_request.hpp
//
// The report over HTTP, apart from HTTP: GET /admin/report?QUERY on the admin port (wired in
// bidder/app/service.cpp) is answered by `answer_report_request`, which parses the query
// string, reads the event log and renders the report exactly as `bidder report` does.
//
//   auto a = bidder::reporting::answer_report_request(
//       "from=2026-11-22&to=2026-11-23&group_by=campaign,exchange&format=json", "data/events");
//   // a.status 200, a.content_type "application/json", a.body = render(report, json)
//
// Parameters (each at most once; names and values percent-decoded, '+' is a space):
//   from, to   inclusive UTC days, YYYY-MM-DD        campaign, exchange   keep only that one
//   group_by   as --group-by (default campaign,day)  format               json (default), csv,
//                                                                         table
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"
#include "bidder/report/report.hpp"

namespace bidder::reporting {

struct report_request {
  report_query query;  ///< without `dir`
  report_format format = report_format::json;
};

/// Parses a query string (without the '?'). Errors: invalid_field, the message starting with
/// the parameter's name (an unknown or repeated parameter, a bad %-escape, an empty id, a bad
/// day, group_by or format, from after to).
[[nodiscard]] result<report_request> parse_report_request(std::string_view query_string);

/// An HTTP answer without HTTP types (the report component does not depend on http/).
struct report_answer {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

/// Answers a report request for the log in `events_dir`: 200 with the rendered report
/// (application/json, text/csv or text/plain), 400 with the reason naming the parameter, 404
/// when the directory does not exist, 500 when it cannot be listed. Reads the whole range of the
/// log: blocking I/O for as long as that takes, so call it off the bid threads. Thread-safe.
/// Never throws but std::bad_alloc.
report_answer answer_report_request(std::string_view query_string,
                                    const std::filesystem::path& events_dir);

}  // namespace bidder::reporting
