// File: bidder/audience/file_format.hpp
//
// Parses audience files, the format campaign managers push (docs/audience.md):
//
//   # comment                      blank lines, comments, a UTF-8 BOM, CRLF, spaces: ignored
//   3f2a9c                         an exchange user id (stored as user:3f2a9c)
//   ifa:6d92078a-8246-...           a device advertising id
//   buyeruid:abc<TAB>1763800000     last seen at UNIX seconds ...
//   uid2:AbC...<TAB>2026-11-20T10:00:00Z   ... or ISO-8601 (date or date-time, UTC or offset)
//
// or CSV with a header whose first column is the id and optional second column last_seen:
//   id,last_seen
//   ifa:6d92...,2026-11-20
//
// Prefixes map to store keys: (none)/user: -> user:, buyeruid: -> buyeruid:, ifa: -> ifa:,
// uid2: -> eid:uidapi.com:, id5: -> eid:id5-sync.com:, eid:<source>:<id> as is. A line without
// a time is "seen now". Each bad line is reported with its number and reason.
//
//   audience::line_parser parser(now);
//   parser.feed(chunk, [&](const member& m) {...}, [&](line_error e) {...});  // any chunking
//   parser.finish(...);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bidder/audience/store.hpp"
#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"

namespace bidder::audience {

struct line_error {
  std::size_t line = 0;
  std::string reason;
};

/// Longest accepted line; anything longer is a bad line (no exchange id comes close).
inline constexpr std::size_t max_audience_line_bytes = 4096;

/// Normalises one id with an optional namespace prefix into a store key. Errors name the
/// problem ("empty id", "control character in id", "id longer than 512 bytes").
[[nodiscard]] result<std::string> id_to_key(std::string_view id);
/// The same, replacing `key`'s contents (reuses its capacity: no allocation per line).
[[nodiscard]] result<void> id_to_key(std::string_view id, std::string& key);

/// Parses UNIX seconds or ISO-8601 ("2026-11-20", "2026-11-20T10:00:00Z",
/// "2026-11-20T10:00:00+02:00"). Errors: invalid_field.
[[nodiscard]] result<unix_seconds> parse_time(std::string_view text);

class line_parser {
 public:
  /// `now` is the time of lines without one; times more than a day after it are rejected.
  explicit line_parser(unix_seconds now) : now_(now) {}

  /// `m` is valid during the call only (the parser reuses it for the next line).
  using member_fn = std::function<void(const member& m)>;
  using error_fn = std::function<void(line_error&&)>;

  /// Consumes the next bytes of the (decompressed) file.
  void feed(std::string_view chunk, const member_fn& on_member, const error_fn& on_error);
  /// Parses a last line without a newline.
  void finish(const member_fn& on_member, const error_fn& on_error);

  std::size_t lines() const noexcept { return line_; }

 private:
  void parse_line(std::string_view line, const member_fn& on_member, const error_fn& on_error);

  unix_seconds now_;
  std::string pending_;
  member scratch_;  // the member handed to on_member, reused line after line
  std::size_t line_ = 0;
  bool overlong_ = false;   // the current line passed max_audience_line_bytes
  bool csv_ = false;        // a CSV header was seen
  bool first_data_ = true;  // the next non-comment line may be a header
};

}  // namespace bidder::audience
