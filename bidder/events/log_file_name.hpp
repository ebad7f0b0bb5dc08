// File: bidder/events/log_file_name.hpp
//
// The event log's file names, `events-YYYYMMDD-HHMMSS-N.jsonl`: the UTC second the file was
// opened, then a counter that tells apart files opened in one second. Written by the log, read
// back by `bidder report` (which skips files outside the asked days) and by the Kafka
// forwarder (which sends files in order): one parser, so the three agree on what is a log file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bidder::events {

struct log_file_name {
  std::chrono::sys_seconds opened;
  std::uint64_t number = 0;

  /// Log order: by opening time, then by counter (numerically: -9 before -10).
  friend bool operator<(const log_file_name& a, const log_file_name& b) noexcept {
    return a.opened != b.opened ? a.opened < b.opened : a.number < b.number;
  }
};

/// The name of the file opened at `opened` (cut to the second) with counter `number`.
std::string format_log_file_name(std::chrono::system_clock::time_point opened,
                                 std::uint64_t number);

/// The time and counter of a log file's name; nullopt for any other name (a temporary file,
/// a cursor, a date that does not exist, a counter that is not a number).
std::optional<log_file_name> parse_log_file_name(std::string_view name) noexcept;

}  // namespace bidder::events
