#include "bidder/config/audience_events.hpp"

#include <optional>
#include <set>
#include <string>

#include "bidder/core/names.hpp"

namespace bidder::config {
namespace {

error invalid(const std::string& where, std::string_view what) {
  return make_error(errc::invalid_config, where + ": " + std::string(what));
}

bool is_action(std::string_view action) {
  return is_url_safe_name(action) && action.size() <= max_event_action_bytes;
}

// A host name as rules compare it: letters, digits, '-' and '.', no empty label at the ends.
bool is_host(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// "https://example-auto.com/models/" or "example-auto.com/models/": a host, then a path. A
// prefix without a path would also match "example-auto.com.evil.example/".
std::optional<std::string> url_prefix_problem(std::string_view prefix) {
  for (char c : prefix) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "a space or control character";
    }
  }
  if (const std::size_t scheme = prefix.find("://"); scheme != std::string_view::npos) {
    prefix.remove_prefix(scheme + 3);
  }
  const std::size_t slash = prefix.find('/');
  if (slash == std::string_view::npos) {
    return "include a path (\"host/\" at least); for a whole site use hosts";
  }
  std::string_view host = prefix.substr(0, slash);
  if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!is_host(host)) return "the host before the path is not a host name";
  if (prefix.size() > 2048) return "longer than 2048 bytes";
  return std::nullopt;
}

template <class List>
result<void> check_actions(const List& actions, const std::string& where) {
  for (int i = 0; i < actions.size(); ++i) {
    if (!is_action(actions[i])) {
      return invalid(where + "[" + std::to_string(i) + "]",
                     "1 to 64 url-safe characters, e.g. page_view");
    }
  }
  return {};
}

}  // namespace

result<void> check_audience_events(const v1::AudienceEvents& events) {
  const std::string base = "audience_events.";
  // Open enums take any number from JSON; only the two modes mean something.
  if (!v1::AudienceEvents::PostDurability_IsValid(events.post_durability())) {
    return invalid(base + "post_durability", "SYNC_EACH_POST (the default) or SYNC_EVERY_SECOND");
  }
  std::set<std::string, std::less<>> sources;
  for (int i = 0; i < events.sources_size(); ++i) {
    const auto& s = events.sources(i);
    const std::string at = base + "sources[" + std::to_string(i) + "].";
    if (!is_url_safe_name(s.id())) return invalid(at + "id", "1 to 128 url-safe characters");
    if (!sources.insert(s.id()).second) return invalid(at + "id", "duplicate");
    if (s.max_per_second() > 10'000'000) return invalid(at + "max_per_second", "at most 1e7");
  }
  std::set<std::string, std::less<>> pixels;
  for (int i = 0; i < events.pixels_size(); ++i) {
    const auto& p = events.pixels(i);
    const std::string at = base + "pixels[" + std::to_string(i) + "].";
    if (p.id().size() < 16 || !is_url_safe_name(p.id())) {
      return invalid(at + "id", "16 to 128 url-safe characters (it must not be guessable)");
    }
    if (!pixels.insert(p.id()).second) return invalid(at + "id", "duplicate");
    if (!sources.contains(p.source())) {
      return invalid(at + "source", "not one of audience_events.sources");
    }
    if (p.max_per_second() > 1'000'000) return invalid(at + "max_per_second", "at most 1e6");
    if (auto r = check_actions(p.actions(), at + "actions"); !r) return r;
  }
  std::set<std::string, std::less<>> rules;
  for (int i = 0; i < events.rules_size(); ++i) {
    const auto& r = events.rules(i);
    const std::string at = base + "rules[" + std::to_string(i) + "].";
    if (!is_url_safe_name(r.id())) return invalid(at + "id", "1 to 128 url-safe characters");
    if (!rules.insert(r.id()).second) return invalid(at + "id", "duplicate");
    if (r.segment().empty()) return invalid(at + "segment", "missing");
    if (!is_url_safe_name(r.segment())) {
      return invalid(at + "segment", "use 1 to 128 of A-Z a-z 0-9 - _ . ~");
    }
    if (r.ttl_days() > 3650) return invalid(at + "ttl_days", "at most 3650");
    if (r.sources().empty() && r.actions().empty() && r.url_prefixes().empty() &&
        r.hosts().empty()) {
      return invalid(at.substr(0, at.size() - 1),
                     "matches every event: give sources, actions, url_prefixes or hosts");
    }
    for (int j = 0; j < r.sources_size(); ++j) {
      if (!sources.contains(r.sources(j))) {
        return invalid(at + "sources[" + std::to_string(j) + "]",
                       "not one of audience_events.sources");
      }
    }
    if (auto c = check_actions(r.actions(), at + "actions"); !c) return c;
    for (int j = 0; j < r.url_prefixes_size(); ++j) {
      if (auto problem = url_prefix_problem(r.url_prefixes(j))) {
        return invalid(at + "url_prefixes[" + std::to_string(j) + "]", *problem);
      }
    }
    for (int j = 0; j < r.hosts_size(); ++j) {
      if (!is_host(r.hosts(j))) {
        return invalid(at + "hosts[" + std::to_string(j) + "]",
                       "a host name (letters, digits, '-', '.'), without scheme or path");
      }
    }
  }
  return {};
}

}  // namespace bidder::config
