// File: bidder/browsing/rules.hpp
//
// The config's event rules (AudienceEvents.rules, docs/audience-events.md), compiled: which
// segments a browsing event puts its user in. A rule matches when every condition it gives
// holds (source, action, url prefix, host); within a condition any listed value does. Pure
// and immutable once built: the admin thread and the event writer share one per config.
//
//   auto rules = browsing::rule_set::compile(config.audience_events());
//   rules.match({.source = "auto-site", .action = "page_view", .url = url}, [&](const rule& r)
//   {...});
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/deadline.hpp"

namespace bidder::browsing {

/// What rules look at in an event. Views, valid during the call.
struct event_view {
  std::string_view source;
  std::string_view action;
  std::string_view url;   // the page as sent; may be empty
  std::string_view site;  // the site's domain as sent; may be empty
};

struct rule {
  std::string id;
  std::string segment;
  std::uint32_t ttl_days = 0;  // 0: never expires
  std::vector<std::string> sources, actions;
  std::vector<std::string> url_prefixes;  // canonical (url.hpp)
  std::vector<std::string> hosts;         // canonical
};

/// A source's limit (config EventSource).
struct source_limit {
  std::string id;
  std::uint32_t max_per_second = 1000;
};

class rule_set {
 public:
  /// From a config the loader validated (config/audience_events.hpp).
  static rule_set compile(const config::v1::AudienceEvents& config);

  /// Calls `fn(rule)` for each rule `e` matches, in config order. `scratch` is reused for the
  /// canonical url (no allocation once it has grown).
  void match(const event_view& e, std::string& scratch,
             const std::function<void(const rule&)>& fn) const;

  /// The source `id`, or null.
  const source_limit* find_source(std::string_view id) const noexcept;
  const std::vector<source_limit>& sources() const noexcept { return sources_; }
  const std::vector<rule>& rules() const noexcept { return rules_; }

 private:
  std::vector<rule> rules_;
  std::vector<source_limit> sources_;  // sorted by id
};

/// When a membership from an event at `at` under `r` expires (0: never).
unix_seconds expiry_of(const rule& r, unix_seconds at) noexcept;

}  // namespace bidder::browsing
