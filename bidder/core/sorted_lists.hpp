// File: bidder/core/sorted_lists.hpp
//
// Membership tests on sorted string lists, the shape every targeting and pricing list is
// compiled into at load time (binary search, no allocation on the bid path).
//
//   std::vector<std::string> domains = {"example.com", "news.org"};  // sorted
//   bidder::domain_listed(domains, "www.example.com");                // true
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace bidder {

/// True when `value` is in the sorted `list` (an empty value never is).
inline bool sorted_contains(const std::vector<std::string>& list, std::string_view value) {
  return !value.empty() &&
         std::binary_search(list.begin(), list.end(), value,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

/// True when `domain` or one of its parent domains is in the sorted `list`: a domain list names
/// a site and its subdomains ("news.example.com" is covered by "example.com").
inline bool domain_listed(const std::vector<std::string>& list, std::string_view domain) {
  if (sorted_contains(list, domain)) return true;
  for (std::size_t dot = domain.find('.'); dot != std::string_view::npos;
       dot = domain.find('.', dot + 1)) {
    if (sorted_contains(list, domain.substr(dot + 1))) return true;
  }
  return false;
}

}  // namespace bidder
