// File: bidder/app/push_files.hpp
//
// What `bidder audience push` sends, read from disk piece by piece so the CLI's memory stays
// bounded whatever the files' sizes, and the progress line it draws on a terminal.
//
// One file is sent as it is on disk (a gzip file stays compressed: the bidder inflates it as
// it arrives). Several files make one push, their union: each is sent as plain text (gzip
// files are inflated here), joined with a newline where a file lacks a final one.
//
//   push_files files(paths);
//   if (auto r = files.open(); !r) fail(r.error());
//   progress_meter meter(files.total_bytes(), isatty(STDERR_FILENO));
//   while (*files.next(chunk)) { send(chunk); meter.update(files.bytes_read(), files.lines()); }
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/core/gzip.hpp"

namespace bidder::app {

class push_files {
 public:
  /// Bytes read from disk at a time.
  static constexpr std::size_t read_bytes = std::size_t{1} << 20;
  /// Largest inflated file (the bidder's own limit is the same).
  static constexpr std::size_t max_inflated_bytes = std::size_t{64} << 30;

  /// `count_gzip_lines`: with one gzip file, inflate it here too, only to count its lines for
  /// the progress line (costs CPU; off when no progress is drawn).
  explicit push_files(std::vector<std::string> paths, bool count_gzip_lines = true);
  ~push_files();

  /// Checks every file can be opened; sums their sizes. Errors: io_error naming the file.
  [[nodiscard]] result<void> open();
  /// Replaces `chunk` with the next bytes to send; false (and `chunk` empty) at the end.
  /// Errors: io_error (read error), bad_encoding (a corrupt gzip file among several).
  [[nodiscard]] result<bool> next(std::string& chunk);

  std::uint64_t total_bytes() const noexcept { return total_bytes_; }
  /// Bytes read from disk so far (compressed bytes for gzip files).
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  /// Lines (newlines) in the plain text so far; 0 for one gzip file without count_gzip_lines.
  std::uint64_t lines() const noexcept { return lines_; }

 private:
  [[nodiscard]] result<bool> open_next();
  void count(std::string_view plain) noexcept;

  std::vector<std::string> paths_;
  bool count_gzip_lines_;
  bool joined_;  // several files: send plain text
  std::size_t index_ = 0;
  std::FILE* file_ = nullptr;
  std::unique_ptr<gunzip_stream> gzip_;  // the current file is gzip (inflated or counted)
  bool gzipped_ = false;
  bool send_inflated_ = false;
  char last_sent_ = '\n';
  std::uint64_t total_bytes_ = 0;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t lines_ = 0;
  std::vector<char> buffer_;
};

/// The progress line on a terminal: bytes and lines sent, rate, ETA; redrawn at most 5 times a
/// second. Draws nothing when `enabled` is false (not a terminal).
class progress_meter {
 public:
  progress_meter(std::uint64_t total_bytes, bool enabled);
  void update(std::uint64_t bytes, std::uint64_t lines, bool force = false);
  /// Ends the line ("sent ..., waiting for the bidder to apply it").
  void finish(std::uint64_t bytes, std::uint64_t lines);

 private:
  std::uint64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

/// "12.3 MB" style.
std::string human_bytes(double bytes);

}  // namespace bidder::app
