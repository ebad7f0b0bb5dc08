#include "bidder/browsing/ingest.hpp"

#include "bidder/core/json_text.hpp"

namespace bidder::browsing {

void ingest_result::add(const ingest_result& other) {
  accepted += other.accepted;
  unmatched += other.unmatched;
  refused += other.refused;
  memberships += other.memberships;
  for (std::size_t i = 0; i < refusal_count; ++i) refused_by[i] += other.refused_by[i];
}

std::size_t append_memberships(const rule_set& rules, const event_view& e,
                               std::span<const std::string> user_keys, unix_seconds at,
                               unix_seconds now, std::string& scratch,
                               std::vector<audience::event_membership>& out) {
  std::size_t added = 0;
  rules.match(e, scratch, [&](const rule& r) {
    const unix_seconds expires = expiry_of(r, at);
    if (expires != 0 && expires <= now) return;  // already over: nothing to write
    for (const std::string& key : user_keys) {
      out.push_back({key, r.segment, at, expires});
      ++added;
    }
  });
  return added;
}

ingest_result ingest_events(std::string_view body, unix_seconds now, const rule_set& rules,
                            const admit_fn& admit, std::vector<audience::event_membership>& out,
                            std::size_t max_reported) {
  ingest_result result;
  event parsed;
  std::string scratch;
  std::size_t number = 0;
  auto refuse = [&](refusal reason, std::string message) {
    ++result.refused;
    ++result.refused_by[static_cast<std::size_t>(reason)];
    if (result.problems.size() < max_reported) {
      result.problems.push_back({number, reason, std::move(message)});
    }
  };
  while (!body.empty()) {
    const std::size_t newline = body.find('\n');
    std::string_view line = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (auto bad = parse_event_line(line, now, parsed)) {
      refuse(bad->reason, std::move(bad->message));
      continue;
    }
    if (rules.find_source(parsed.source) == nullptr) {
      refuse(refusal::unknown_source, "source: \"" + parsed.source +
                                          "\" is not one of the config's audience_events.sources");
      continue;
    }
    if (admit && !admit(parsed.source)) {
      refuse(refusal::rate_limited, "source: over its max_per_second");
      continue;
    }
    const std::size_t added =
        append_memberships(rules, {parsed.source, parsed.action, parsed.url, parsed.site},
                           parsed.user_keys, parsed.at, now, scratch, out);
    result.memberships += added;
    ++(added > 0 ? result.accepted : result.unmatched);
  }
  return result;
}

std::string to_json(const ingest_result& r) {
  std::string out = "{\"accepted\":" + std::to_string(r.accepted) +
                    ",\"unmatched\":" + std::to_string(r.unmatched) +
                    ",\"refused\":" + std::to_string(r.refused) +
                    ",\"memberships\":" + std::to_string(r.memberships) + ",\"refused_reasons\":{";
  bool first = true;
  for (std::size_t i = 0; i < refusal_count; ++i) {
    if (r.refused_by[i] == 0) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    out += to_string(static_cast<refusal>(i));
    out += "\":" + std::to_string(r.refused_by[i]);
  }
  out += "},\"refused_lines\":[";
  for (std::size_t i = 0; i < r.problems.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"line\":" + std::to_string(r.problems[i].line) + ",\"reason\":\"";
    out += to_string(r.problems[i].reason);
    out += "\",\"message\":";
    append_json_string(out, r.problems[i].message);
    out += '}';
  }
  out += "]}\n";
  return out;
}

}  // namespace bidder::browsing
