// File: bidder/audience/member_sorter.hpp
//
// Sorts the members of an audience file by key and keeps one entry per key (the latest
// last-seen), with bounded memory: beyond `max_in_memory` members (or their keys' bytes), sorted
// runs are written to a temporary directory and merged as they are read (an external sort).
// Keys are copied back to back into one arena and sorted as fixed-size records (16-byte key
// prefix, offset, length, time): no allocation per member, and most comparisons touch only the
// record. A full run is sorted and written by a helper thread while the caller fills the next
// one (so up to two runs are in memory), off the caller's thread.
//
//   member_sorter sorter(tmp_dir);
//   for (...) if (auto r = sorter.add(key, last_seen); !r) fail(r.error());
//   auto sorted = sorter.finish();   // a member_source: sorted, unique, size() known
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/audience/store.hpp"
#include "bidder/core/error.hpp"

namespace bidder::audience {

/// A stream of members sorted by key, each key once.
class member_source {
 public:
  virtual ~member_source() = default;
  /// How many members: exact once next() returned false; before that, an upper bound (a merge
  /// learns of duplicates as it goes). Zero means none.
  virtual std::uint64_t size() const noexcept = 0;
  /// The next member; false at the end or on a read error (then failure() says why).
  virtual bool next(member& out) = 0;
  virtual const error* failure() const noexcept { return nullptr; }
};

class member_sorter {
 public:
  /// Members kept in memory before a run is written (a 32-byte record plus the key each).
  static constexpr std::size_t default_max_in_memory = 1'000'000;
  /// Key bytes kept per member on average before a run is written (ids are 20 to 60 bytes).
  static constexpr std::size_t arena_bytes_per_member = 64;
  /// Most runs one sort writes (the merge opens them all at once: descriptors and buffers).
  /// With the default run size that is 256 million members; past it add() fails (too_large).
  static constexpr std::size_t max_runs = 256;

  explicit member_sorter(std::string temp_dir, std::size_t max_in_memory = default_max_in_memory);
  ~member_sorter();

  /// Copies the member in. Errors: io_error (cannot write a run).
  [[nodiscard]] result<void> add(std::string_view key, unix_seconds last_seen);
  [[nodiscard]] result<void> add(const member& m) { return add(m.key, m.last_seen); }
  /// Sorts, and returns the members merged and de-duplicated as they are read. The source
  /// must not outlive the sorter. Errors: io_error. Call once.
  [[nodiscard]] result<std::unique_ptr<member_source>> finish();
  /// Members that repeated a key (complete once the source is read to its end).
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t added() const noexcept { return added_; }

 private:
  // One member in memory: its key is arena_[offset, offset + size).
  struct record {
    std::uint64_t prefix[2];  // the key's bytes [0, 16), big-endian words, zero-padded
    std::uint32_t offset;
    std::uint16_t size;
    unix_seconds last_seen;
  };
  struct run_job;
  [[nodiscard]] result<void> spill();
  [[nodiscard]] result<void> wait_for_run();
  static void sort_records(std::vector<record>& records, const std::string& arena);
  static result<void> write_run(run_job& job);
  std::string temp_dir_;
  std::size_t max_in_memory_;
  std::size_t max_arena_bytes_;
  std::string arena_;
  std::vector<record> records_;
  std::unique_ptr<run_job> writing_;  // the run the helper thread sorts and writes
  std::vector<std::string> runs_;
  std::uint64_t duplicates_ = 0;
  std::uint64_t added_ = 0;
};

/// A member_source over members already sorted and unique (tests, small pushes).
std::unique_ptr<member_source> source_of(std::vector<member> sorted_unique);

}  // namespace bidder::audience
