// File: bidder/browsing/ingest.hpp
//
// From browsing events to segment memberships (docs/audience-events.md): a POST body of JSON
// lines checked line by line (event_line.hpp), each good line's source admitted by its rate
// limit, matched against the rules, and its memberships collected for one store write. The
// endpoint and the pixel's writer build on it; nothing here does I/O.
//
//   std::vector<audience::event_membership> writes;
//   auto r = browsing::ingest_events(body, now, rules, admit, writes);
//   store.add_event_memberships(writes, /*sync=*/true);  then answer to_json(r)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/audience/segment_store.hpp"
#include "bidder/browsing/event_line.hpp"
#include "bidder/browsing/rules.hpp"

namespace bidder::browsing {

struct refused_line {
  std::size_t line = 0;  // 1-based
  refusal reason = refusal::not_json;
  std::string message;
};

struct ingest_result {
  std::uint64_t accepted = 0;     // lines that gave at least one membership
  std::uint64_t unmatched = 0;    // good lines no rule matched (or only with expired results)
  std::uint64_t refused = 0;      // bad lines; nothing of them is written
  std::uint64_t memberships = 0;  // memberships written (users x segments)
  std::array<std::uint64_t, refusal_count> refused_by{};
  std::vector<refused_line> problems;  // the first max_reported refused lines

  void add(const ingest_result& other);
};

/// Appends to `out` the memberships of one event: each of its user keys in each matched rule's
/// segment, last seen at `at`; memberships already expired at `now` are skipped. Returns how
/// many were appended. `scratch` is reused.
std::size_t append_memberships(const rule_set& rules, const event_view& e,
                               std::span<const std::string> user_keys, unix_seconds at,
                               unix_seconds now, std::string& scratch,
                               std::vector<audience::event_membership>& out);

/// Whether an event of `source` may be taken now (its rate limit); false: refused, rate_limited.
using admit_fn = std::function<bool(std::string_view source)>;

/// Parses `body` (JSON lines; blank lines skipped, CRLF accepted) and appends the memberships
/// of its good lines to `out`.
ingest_result ingest_events(std::string_view body, unix_seconds now, const rule_set& rules,
                            const admit_fn& admit, std::vector<audience::event_membership>& out,
                            std::size_t max_reported = 100);

/// The answer of POST /admin/events:
///   {"accepted":1,"unmatched":0,"refused":1,"memberships":2,
///    "refused_reasons":{"unknown_source":1},
///    "refused_lines":[{"line":2,"reason":"unknown_source","message":"source: ..."}]}
std::string to_json(const ingest_result& r);

}  // namespace bidder::browsing
