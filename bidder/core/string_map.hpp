// File: bidder/core/string_map.hpp
//
// A hash map keyed by std::string that is searched with a std::string_view, without building a
// std::string per look-up (C++20 heterogeneous lookup): the bid path looks up names it reads
// from requests (currencies, domains, segment names) this way.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bidder {

/// Hashes std::string and std::string_view alike; marks the map's lookups as heterogeneous.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

}  // namespace bidder
