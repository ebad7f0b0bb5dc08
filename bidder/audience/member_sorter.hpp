// File: bidder/audience/member_sorter.hpp
//
// Sorts the members of an audience file by key and keeps one entry per key (the latest
// last-seen), with bounded memory: beyond `max_in_memory` members, sorted runs are written to
// a temporary directory and merged into one sorted file (an external sort).
//
//   member_sorter sorter(tmp_dir);
//   for (...) if (auto r = sorter.add(std::move(m)); !r) fail(r.error());
//   auto sorted = sorter.finish();   // a member_source: sorted, unique, size() known
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
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
  /// Members kept in memory before a run is written (about 100 bytes each).
  static constexpr std::size_t default_max_in_memory = 1'000'000;

  explicit member_sorter(std::string temp_dir, std::size_t max_in_memory = default_max_in_memory);
  ~member_sorter();

  /// Errors: io_error (cannot write a run).
  [[nodiscard]] result<void> add(member&& m);
  /// Sorts, merges and de-duplicates. Errors: io_error. Call once.
  [[nodiscard]] result<std::unique_ptr<member_source>> finish();
  /// Members that repeated a key (known after finish()).
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t added() const noexcept { return added_; }

 private:
  result<void> spill();
  std::string temp_dir_;
  std::size_t max_in_memory_;
  std::vector<member> buffer_;
  std::vector<std::string> runs_;
  std::uint64_t duplicates_ = 0;
  std::uint64_t added_ = 0;
};

/// A member_source over members already sorted and unique (tests, small pushes).
std::unique_ptr<member_source> source_of(std::vector<member> sorted_unique);

}  // namespace bidder::audience
