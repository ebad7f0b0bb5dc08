#include "bidder/report/report_request.hpp"

#include <set>

#include "bidder/core/codec.hpp"

namespace bidder::reporting {
namespace {

constexpr std::string_view parameter_names = "from, to, campaign, exchange, group_by or format";

}  // namespace

result<report_request> parse_report_request(std::string_view query_string) {
  report_request out;
  std::set<std::string, std::less<>> seen;
  while (!query_string.empty()) {
    const std::size_t amp = query_string.find('&');
    const std::string_view pair = query_string.substr(0, amp);
    query_string =
        amp == std::string_view::npos ? std::string_view() : query_string.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    const std::size_t eq = pair.find('=');
    std::string name, value;
    if (!append_percent_decoded(name, pair.substr(0, eq), true, bad_escape::fail)) {
      return make_error(errc::invalid_field,
                        "parameter name \"" + std::string(pair.substr(0, eq)) + "\": bad %-escape");
    }
    if (eq != std::string_view::npos &&
        !append_percent_decoded(value, pair.substr(eq + 1), true, bad_escape::fail)) {
      return make_error(errc::invalid_field, name + ": bad %-escape");
    }
    if (!seen.insert(name).second) return make_error(errc::invalid_field, name + ": given twice");
    if (name == "from" || name == "to") {
      auto day = parse_day(value);
      if (!day) return make_error(errc::invalid_field, name + ": " + day.error().message);
      (name == "from" ? out.query.from : out.query.to) = *day;
    } else if (name == "campaign" || name == "exchange") {
      if (value.empty()) return make_error(errc::invalid_field, name + ": expected an id");
      (name == "campaign" ? out.query.campaign_id : out.query.exchange) = std::move(value);
    } else if (name == "group_by") {
      auto grouping = parse_group_by(value);
      if (!grouping) return grouping.error();  // "group_by: ..."
      out.query.grouping = *grouping;
    } else if (name == "format") {
      auto format = parse_report_format(value);
      if (!format) return format.error();  // "format \"xml\": ..."
      out.format = *format;
    } else {
      return make_error(errc::invalid_field, "unknown parameter \"" + name + "\": expected " +
                                                 std::string(parameter_names));
    }
  }
  if (out.query.from && out.query.to && *out.query.from > *out.query.to) {
    return make_error(errc::invalid_field, "from: " + format_day(*out.query.from) +
                                               " is after to " + format_day(*out.query.to));
  }
  return out;
}

report_answer answer_report_request(std::string_view query_string,
                                    const std::filesystem::path& events_dir) {
  auto request = parse_report_request(query_string);
  if (!request) return {400, "text/plain; charset=utf-8", request.error().message + "\n"};
  request->query.dir = events_dir;
  auto built = build_report(request->query);
  if (!built) {
    const errc code = built.error().code;
    return {code == errc::not_found       ? 404u
            : code == errc::invalid_field ? 400u
                                          : 500u,
            "text/plain; charset=utf-8", built.error().message + "\n"};
  }
  std::string content_type = request->format == report_format::json  ? "application/json"
                             : request->format == report_format::csv ? "text/csv; charset=utf-8"
                                                                     : "text/plain; charset=utf-8";
  return {200, std::move(content_type), render(*built, request->format)};
}

}  // namespace bidder::reporting
