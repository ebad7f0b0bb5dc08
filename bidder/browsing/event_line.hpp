// File: bidder/browsing/event_line.hpp
//
// One line of POST /admin/events (docs/audience-events.md): a browsing event as JSON.
//
//   {"source": "example-auto", "user_ids": ["buyeruid:8f3a", "ifa:6d92..."],
//    "action": "page_view", "url": "https://example-auto.com/models/suv", "time": 1796500000}
//
// - source (required): a configured event source (checked by ingest.hpp, which has the rules);
// - user_ids (an array) or user_id (one): ids with their kind, as audience files write them
//   (user:, buyeruid:, ifa:, eid:<source>:, uid2:, id5:); at least one, at most 8;
// - action (required): what the user did, 1-64 url-safe characters (page_view, purchase...);
// - url and/or site: the page, and the site's domain;
// - time: UNIX seconds or ISO 8601; absent: now; more than 5 minutes ahead is refused.
// Unknown fields are refused. The refusal reasons are the metric's labels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/deadline.hpp"

namespace bidder::browsing {

/// Longest accepted line, url and site.
inline constexpr std::size_t max_event_line_bytes = 8 * 1024;
inline constexpr std::size_t max_event_url_bytes = 4096;
inline constexpr std::size_t max_event_site_bytes = 253;
/// Most user ids one event names.
inline constexpr std::size_t max_event_user_ids = 8;
/// How far ahead of our clock an event's time may be (clock skew); beyond, it is refused: a
/// future last-seen time would stretch every recency window.
inline constexpr unix_seconds max_event_future_seconds = 300;

/// Why a line was refused (a bounded set: the metric's `reason` label).
enum class refusal : std::uint8_t {
  not_json,         // not JSON, or not an object
  oversize,         // a line over max_event_line_bytes
  unknown_field,    // a field this format does not have
  bad_field,        // a field of the wrong type or form
  missing_field,    // source, action, or url/site missing
  missing_user_id,  // no user id
  bad_user_id,      // an id of an unknown kind, or malformed
  bad_time,         // a time that cannot be read
  future_time,      // more than max_event_future_seconds ahead
  unknown_source,   // not a configured source
  rate_limited,     // over the source's max_per_second
};
inline constexpr std::size_t refusal_count = 11;
std::string_view to_string(refusal r) noexcept;

struct event {
  std::vector<std::string> user_keys;  // audience store keys
  std::string source, action, url, site;
  unix_seconds at = 0;
};

struct line_problem {
  refusal reason = refusal::not_json;
  std::string message;  // names the field
};

/// Parses one line (without its newline) into `out` (reused). nullopt when good.
std::optional<line_problem> parse_event_line(std::string_view line, unix_seconds now, event& out);

/// A user id with an explicit kind into its store key ("uid2:x" -> "eid:uidapi.com:x"); an
/// error message when the kind is unknown or the id malformed.
std::optional<std::string> user_key_of(std::string_view id, std::string& key);

}  // namespace bidder::browsing
