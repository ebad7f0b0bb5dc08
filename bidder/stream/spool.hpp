// File: bidder/stream/spool.hpp
//
// The event log's files (bidder/events/event_log.hpp) read as a spool: complete lines, in file
// order, after a position. The forwarder (kafka_forwarder.hpp) reads a batch, sends it, and
// seeks back to the last confirmed position when the stream refused part of it, so the files
// on disk are the only buffer while the stream is down and the bid path never waits for it.
//
//   spool_reader reader(data_dir / "events", cursor);       // cursor: load_cursor's position
//   spool_batch batch;
//   if (auto r = reader.read(batch, 10000, 8 << 20); !r) ...
//   for (std::size_t i = 0; i < batch.lines.size(); ++i) send(batch.text(i), batch.id(i, src));
//   reader.seek(batch.end_of(k));                           // after a partial delivery
//
// File order: the log names files events-YYYYMMDD-HHMMSS-N.jsonl (UTC open time, then a
// counter) and never appends to a file once a newer one exists, so a file followed by a newer
// one is complete: a trailing fragment without '\n' (a write cut short by a full disk) is
// skipped and counted, never sent. The newest file is still growing: a fragment at its end is
// left until its '\n' arrives. Files that sort before the position (a clock set back across a
// restart) are not read; other names in the directory are ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/error.hpp"

namespace bidder::stream {

/// A place in the spool: `offset` bytes into the file named `file` (a name, no directory).
/// An empty file name is the spool's start.
struct spool_position {
  std::string file;
  std::uint64_t offset = 0;
  friend bool operator==(const spool_position&, const spool_position&) = default;
};

/// One line of a batch: its file (an index into spool_batch::files), its offset in that file,
/// and its text (without the '\n') at data[begin, begin + size).
struct spool_line {
  std::uint32_t file = 0;
  std::uint64_t offset = 0;
  std::size_t begin = 0;
  std::size_t size = 0;
};

/// Lines read by one `spool_reader::read`, in spool order. One buffer for every line's text.
struct spool_batch {
  std::vector<std::string> files;
  std::vector<spool_line> lines;
  std::string data;

  void clear() noexcept {
    files.clear();
    lines.clear();
    data.clear();
  }
  std::string_view text(std::size_t i) const noexcept {
    return std::string_view(data).substr(lines[i].begin, lines[i].size);
  }
  /// The position just after line i (its '\n').
  spool_position end_of(std::size_t i) const {
    return {files[lines[i].file], lines[i].offset + lines[i].size + 1};
  }
  /// The event id of line i: "<source>/<file>:<offset>", the same every time the line is read,
  /// so a consumer drops a line sent twice by its id.
  std::string id(std::size_t i, std::string_view source) const;
};

/// The event id of the line at `offset` in `file` (see spool_batch::id).
std::string event_id(std::string_view source, std::string_view file, std::uint64_t offset);

/// True for the names the event log gives its files (events-YYYYMMDD-HHMMSS-N.jsonl).
bool is_spool_file_name(std::string_view name) noexcept;
/// Spool order: by open time, then by N as a number. Both must be spool file names.
bool spool_file_before(std::string_view a, std::string_view b) noexcept;

class spool_reader {
 public:
  spool_reader(std::filesystem::path dir, spool_position start);
  ~spool_reader();
  spool_reader(const spool_reader&) = delete;
  spool_reader& operator=(const spool_reader&) = delete;

  /// Appends to `out` the complete lines after the position, up to `max_lines` lines and about
  /// `max_bytes` bytes (at least one line when one is ready), and moves the position past them.
  /// Nothing ready is not an error (no line appended). Errors: io_error naming the file or the
  /// directory (a missing directory is no error: the log creates it).
  [[nodiscard]] result<void> read(spool_batch& out, std::size_t max_lines, std::size_t max_bytes);

  /// Moves the position (back) to `p`, e.g. the last line the stream confirmed.
  void seek(const spool_position& p);
  const spool_position& position() const noexcept { return position_; }

  /// Bytes of the spool after the position: what the stream has yet to receive. Lists and stats
  /// the directory.
  std::uint64_t lag_bytes() const;
  /// Fragments skipped (a write cut short at the end of a file that is no longer the newest).
  std::uint64_t skipped_fragments() const noexcept { return skipped_fragments_; }

 private:
  std::vector<std::string> list_files() const;  // spool files, in spool order
  bool open_file();                             // the file at position_, or the next one
  void close_file() noexcept;

  std::filesystem::path dir_;
  spool_position position_;
  int fd_ = -1;  // position_.file, open for reading
  std::string chunk_;
  std::uint64_t skipped_fragments_ = 0;
};

}  // namespace bidder::stream
