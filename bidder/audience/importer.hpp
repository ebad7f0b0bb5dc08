// File: bidder/audience/importer.hpp
//
// One audience push, end to end: decompresses (gzip is recognised by its magic bytes), parses
// every line, rejects the push when more than `max_errors` lines are bad, de-duplicates ids
// (the latest last-seen wins), sorts (externally past `max_in_memory` members), and applies the
// result to the store atomically. A push that is refused changes nothing. The same parsing
// serves the offline fleet flow: build_segment() writes a folder, ingest_segment() applies it.
//
//   audience::import_options opt{.segment = "car-buyers", .mode = update_mode::replace};
//   auto report = audience::import_segment(store, opt, file_bytes, wall_now());
//   if (report && report->applied) ...  // else report->errors lists the bad lines
//
// An upload uses push_stream instead, so memory stays bounded whatever the file's size:
//   auto push = audience::push_stream::open(store, opt, wall_now());
//   for (chunk : body) (*push)->feed(chunk);            // parsed and sorted as it arrives
//   auto report = (*push)->finish();                     // or destroy it: nothing is applied
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/audience/file_format.hpp"
#include "bidder/audience/member_sorter.hpp"
#include "bidder/audience/segment_store.hpp"

namespace bidder::audience {

struct import_options {
  std::string segment;
  update_mode mode = update_mode::replace;
  std::uint32_t ttl_days = 0;  // 0: keep the segment's TTL (or none)
  /// Bad lines tolerated (skipped and listed); one more and nothing is applied.
  std::size_t max_errors = 0;
  /// Largest file once decompressed.
  std::size_t max_bytes = std::size_t{64} << 30;
  /// Where the external sort writes its runs (an existing directory); empty: the system's.
  std::string temp_dir{};
  /// Members sorted in memory before runs go to temp_dir (bounds memory; ~100 bytes each).
  std::size_t max_in_memory = member_sorter::default_max_in_memory;
};

struct import_report {
  bool applied = false;
  std::string refusal;  // why nothing was applied (empty when applied)
  std::size_t lines = 0;
  std::size_t members = 0;     // distinct ids accepted
  std::size_t duplicates = 0;  // lines repeating an id already seen in the file
  std::size_t rejected = 0;    // bad lines
  /// The first `max_listed_errors` bad lines.
  std::vector<line_error> errors;
  update_result update;
  double seconds = 0;
};

/// How many bad lines a report lists (the count is always complete).
inline constexpr std::size_t max_listed_errors = 100;

/// One push whose file arrives in pieces (the admin API's upload). Each piece is decompressed
/// (gzip is recognised by the first two bytes), parsed and handed to the external sort at once,
/// so memory stays bounded (the sort's `max_in_memory` members plus a 64 KiB inflate buffer)
/// whatever the file's size. Nothing touches the store until finish(); destroying the push
/// without finish() (a lost connection, a cancelled upload) leaves the store as it was and
/// removes the sort's files. Not thread-safe: one thread feeds it.
class push_stream {
 public:
  /// Starts a push. Errors: invalid_field (bad segment name).
  [[nodiscard]] static result<std::unique_ptr<push_stream>> open(segment_store& store,
                                                                 const import_options& options,
                                                                 unix_seconds now);
  ~push_stream();
  push_stream(const push_stream&) = delete;
  push_stream& operator=(const push_stream&) = delete;

  /// The next bytes of the file, any chunking. After a refusal (unreadable gzip, a file over
  /// max_bytes, a sort that cannot write) the rest is ignored; bad lines only count.
  void feed(std::string_view bytes);
  /// True once the push is refused whatever follows: a refusal, or more bad lines than
  /// max_errors. The caller may stop feeding and call finish(ending::stopped) at once.
  bool refused() const noexcept;
  enum class ending : std::uint8_t {
    whole_file,  // every byte was fed: the last line may lack its newline
    stopped,     // the caller stopped feeding after refused(): the rest is never read
  };
  /// Ends the file, sorts and applies it. Call at most once. Errors as import_segment(). After
  /// `stopped`, the report counts the lines read so far and says the upload was stopped.
  [[nodiscard]] result<import_report> finish(ending how = ending::whole_file);

 private:
  struct impl;
  explicit push_stream(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

/// A whole file in one piece (tests, small pushes): push_stream::open, feed, finish.
/// Errors (as opposed to a refusal in the report): invalid_field (bad segment name),
/// not_found (remove from an unknown segment), io_error.
[[nodiscard]] result<import_report> import_segment(segment_store& store,
                                                   const import_options& options,
                                                   std::string_view file, unix_seconds now);

/// Fleet flow, offline (no bidder needed): parses `files` as one push would and writes
/// `out_dir`/members.sst (sorted members, an SST file) and `out_dir`/manifest.txt (segment,
/// mode, TTL, counts). Ship the folder to every bidder and apply it with ingest_segment().
/// A refusal (bad lines) is in the report; errors: invalid_field, io_error.
[[nodiscard]] result<import_report> build_segment(const std::vector<std::string>& files,
                                                  const import_options& options,
                                                  const std::string& out_dir, unix_seconds now);

/// Applies a folder made by build_segment to `store`, atomically like a push. `mode` overrides
/// the manifest's. Errors: invalid_field (not such a folder, damaged), plus update errors.
[[nodiscard]] result<import_report> ingest_segment(segment_store& store, const std::string& dir,
                                                   std::optional<update_mode> mode,
                                                   unix_seconds now);

}  // namespace bidder::audience
