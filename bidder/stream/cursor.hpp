// File: bidder/stream/cursor.hpp
//
// The forwarder's cursor, <data-dir>/stream.cursor: the spool position (spool.hpp) up to which
// the stream has confirmed every line. One line of text, "v1 <file> <offset>\n", replaced
// whole (written to a temporary file, fsynced, renamed over the old one, directory fsynced), so
// a crash leaves the old cursor or the new one, never a mix. It is saved only after the broker
// confirmed the lines before it: a crash resends at most the lines after it (at-least-once).
//
//   auto start = load_cursor(path);        // nullopt: no cursor yet, start at the spool's start
//   ... save_cursor(path, batch.end_of(last_confirmed));
#pragma once

#include <filesystem>
#include <optional>

#include "bidder/core/error.hpp"
#include "bidder/stream/spool.hpp"

namespace bidder::stream {

/// The saved position; nullopt when there is no cursor file. Errors: io_error (unreadable),
/// io_error naming the file when its content is not a cursor.
[[nodiscard]] result<std::optional<spool_position>> load_cursor(const std::filesystem::path& path);

/// Replaces the cursor atomically and durably. Errors: io_error naming the file and the call.
[[nodiscard]] result<void> save_cursor(const std::filesystem::path& path, const spool_position& p);

}  // namespace bidder::stream
