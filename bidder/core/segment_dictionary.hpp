// File: bidder/core/segment_dictionary.hpp
//
// Interns audience segment names into small integer ids at config load, so the bid path
// compares integers. Built once per campaign snapshot (not thread-safe while building; read-only
// and thread-safe afterwards).
//
//   segment_dictionary segments;
//   segment_id car = segments.intern("auto-intender");
//   if (auto id = segments.find(name_from_store)) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bidder/core/string_map.hpp"

namespace bidder {

using segment_id = std::uint32_t;

/// One of a user's segment memberships, as the engine hands it to targeting and pricing.
struct segment_membership {
  segment_id segment = 0;
  std::int64_t last_seen = 0;  // unix seconds
};

class segment_dictionary {
 public:
  segment_id intern(std::string_view name) {
    if (auto found = find(name)) return *found;
    names_.emplace_back(name);
    const auto id = static_cast<segment_id>(names_.size() - 1);
    ids_.emplace(names_.back(), id);
    return id;
  }
  std::optional<segment_id> find(std::string_view name) const {
    auto it = ids_.find(name);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  std::string_view name(segment_id id) const { return names_.at(id); }
  std::size_t size() const noexcept { return names_.size(); }

 private:
  // Keys view into names_; std::deque-like stability is not needed because keys are copied
  // as std::string into the map.
  std::vector<std::string> names_;
  string_map<segment_id> ids_;
};

}  // namespace bidder
