// File: bidder/audience/member_sorter.hpp
//
// Sorts the members of an audience file by key and keeps one entry per key (the latest
// last-seen), with bounded memory: beyond `max_in_memory` members (or their keys' bytes), sorted
// runs are written to a temporary directory and merged into one sorted file (an external sort).
// Keys are copied back to back into one arena and sorted as fixed-size records (key prefix,
// offset, length, time): no allocation per member, and most comparisons touch only the record.
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

/// A stream of members sorted by key, each key once, with its length known up front.
class member_source {
 public:
  virtual ~member_source() = default;
  virtual std::uint64_t size() const noexcept = 0;
  /// The next member; false at the end or on a read error (then failure() says why).
  virtual bool next(member& out) = 0;
  virtual const error* failure() const noexcept { return nullptr; }
};

class member_sorter {
 public:
  /// Members kept in memory before a run is written (a 24-byte record plus the key each).
  static constexpr std::size_t default_max_in_memory = 1'000'000;
  /// Key bytes kept per member on average before a run is written (ids are 20 to 60 bytes).
  static constexpr std::size_t arena_bytes_per_member = 64;

  explicit member_sorter(std::string temp_dir, std::size_t max_in_memory = default_max_in_memory);
  ~member_sorter();

  /// Copies the member in. Errors: io_error (cannot write a run).
  [[nodiscard]] result<void> add(std::string_view key, unix_seconds last_seen);
  [[nodiscard]] result<void> add(const member& m) { return add(m.key, m.last_seen); }
  /// Sorts, merges and de-duplicates. Errors: io_error. Call once.
  [[nodiscard]] result<std::unique_ptr<member_source>> finish();
  /// Members that repeated a key (known after finish()).
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t added() const noexcept { return added_; }

 private:
  // One member in memory: its key is arena_[offset, offset + size).
  struct record {
    std::uint64_t prefix;  // the key's first 8 bytes, big-endian (zero-padded)
    std::uint32_t offset;
    std::uint16_t size;
    unix_seconds last_seen;
  };
  result<void> spill();
  void sort_records();
  std::string_view key_of(const record& r) const noexcept {
    return std::string_view(arena_.data() + r.offset, r.size);
  }
  std::string temp_dir_;
  std::size_t max_in_memory_;
  std::size_t max_arena_bytes_;
  std::string arena_;
  std::vector<record> records_;
  std::vector<std::string> runs_;
  std::uint64_t duplicates_ = 0;
  std::uint64_t added_ = 0;
};

/// A member_source over members already sorted and unique (tests, small pushes).
std::unique_ptr<member_source> source_of(std::vector<member> sorted_unique);

}  // namespace bidder::audience
