#include "bidder/browsing/event_line.hpp"

#include <array>
#include <boost/json.hpp>

#include "bidder/audience/file_format.hpp"
#include "bidder/core/names.hpp"

namespace bidder::browsing {
namespace {

namespace json = boost::json;

line_problem problem(refusal reason, std::string_view field, std::string_view what) {
  return {reason, std::string(field) + ": " + std::string(what)};
}

bool has_control(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// A string field of at most `limit` bytes without control characters.
std::optional<line_problem> read_text(const json::value& v, std::string_view field,
                                      std::size_t limit, std::string& out) {
  if (!v.is_string()) return problem(refusal::bad_field, field, "expected a string");
  const json::string& s = v.get_string();
  if (s.size() > limit) {
    return problem(refusal::bad_field, field, "longer than " + std::to_string(limit) + " bytes");
  }
  if (has_control(s)) return problem(refusal::bad_field, field, "control character");
  out.assign(s.data(), s.size());
  return std::nullopt;
}

std::optional<line_problem> read_user_id(const json::value& v, std::string_view field, event& out) {
  if (!v.is_string()) return problem(refusal::bad_user_id, field, "expected a string");
  if (out.user_keys.size() == max_event_user_ids) {
    return problem(refusal::bad_user_id, field,
                   "more than " + std::to_string(max_event_user_ids) + " ids");
  }
  std::string key;
  if (auto bad = user_key_of(v.get_string(), key)) {
    return problem(refusal::bad_user_id, field, *bad);
  }
  out.user_keys.push_back(std::move(key));
  return std::nullopt;
}

}  // namespace

std::string_view to_string(refusal r) noexcept {
  static constexpr std::array<std::string_view, refusal_count> names = {
      "not_json",      "oversize",        "unknown_field", "bad_field",
      "missing_field", "missing_user_id", "bad_user_id",   "bad_time",
      "future_time",   "unknown_source",  "rate_limited"};
  return names[static_cast<std::size_t>(r)];
}

std::optional<std::string> user_key_of(std::string_view id, std::string& key) {
  static constexpr std::string_view kinds[] = {
      "user:", "buyeruid:", "ifa:", "eid:", "uid2:", "id5:"};
  bool known = false;
  for (std::string_view kind : kinds) known = known || id.starts_with(kind);
  if (!known) {
    return std::string(
        "unknown id kind: write user:, buyeruid:, ifa:, eid:<source>:, uid2: or "
        "id5: before the id");
  }
  if (auto r = audience::id_to_key(id, key); !r) return r.error().message;
  return std::nullopt;
}

std::optional<line_problem> parse_event_line(std::string_view line, unix_seconds now, event& out) {
  out.user_keys.clear();
  out.source.clear();
  out.action.clear();
  out.url.clear();
  out.site.clear();
  out.at = now;
  if (line.size() > max_event_line_bytes) {
    return line_problem{refusal::oversize,
                        "line longer than " + std::to_string(max_event_line_bytes) + " bytes"};
  }
  // Parsed into a stack buffer first: no heap allocation for a typical line.
  unsigned char buffer[4096];
  json::monotonic_resource memory(buffer, sizeof buffer);
  boost::system::error_code ec;
  const json::value parsed = json::parse(line, ec, &memory);
  if (ec) return line_problem{refusal::not_json, "not JSON: " + ec.message()};
  if (!parsed.is_object()) return line_problem{refusal::not_json, "not a JSON object"};
  for (const auto& [key, v] : parsed.get_object()) {
    std::optional<line_problem> bad;
    if (key == "source") {
      bad = read_text(v, key, max_name_bytes, out.source);
    } else if (key == "action") {
      bad = read_text(v, key, 64, out.action);
      if (!bad && !is_url_safe_name(out.action)) {
        bad = problem(refusal::bad_field, key, "1 to 64 url-safe characters, e.g. page_view");
      }
    } else if (key == "url") {
      bad = read_text(v, key, max_event_url_bytes, out.url);
    } else if (key == "site") {
      bad = read_text(v, key, max_event_site_bytes, out.site);
    } else if (key == "user_id") {
      bad = read_user_id(v, key, out);
    } else if (key == "user_ids") {
      if (!v.is_array()) {
        bad = problem(refusal::bad_user_id, key, "expected an array of ids");
      } else {
        const json::array& ids = v.get_array();
        for (std::size_t i = 0; i < ids.size() && !bad; ++i) {
          bad = read_user_id(ids[i], "user_ids[" + std::to_string(i) + "]", out);
        }
      }
    } else if (key == "time") {
      std::string text;
      if (v.is_int64() || v.is_uint64()) {
        text = v.is_int64() ? std::to_string(v.get_int64()) : std::to_string(v.get_uint64());
      } else if (v.is_string()) {
        text = v.get_string();
      } else {
        bad = problem(refusal::bad_time, key, "expected UNIX seconds or an ISO 8601 time");
      }
      if (!bad) {
        auto at = audience::parse_time(text);
        if (!at) {
          bad = problem(refusal::bad_time, key, at.error().message);
        } else if (*at > now + max_event_future_seconds) {
          bad = problem(refusal::future_time, key, "more than 5 minutes in the future");
        } else {
          out.at = *at;
        }
      }
    } else {
      bad = problem(refusal::unknown_field, key, "unknown field");
    }
    if (bad) return bad;
  }
  if (out.source.empty()) return problem(refusal::missing_field, "source", "missing");
  if (out.user_keys.empty()) {
    return problem(refusal::missing_user_id, "user_ids", "no user id given");
  }
  if (out.action.empty()) return problem(refusal::missing_field, "action", "missing");
  if (out.url.empty() && out.site.empty()) {
    return problem(refusal::missing_field, "url, site", "neither given");
  }
  return std::nullopt;
}

}  // namespace bidder::browsing
