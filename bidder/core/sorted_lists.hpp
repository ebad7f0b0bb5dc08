// File: bidder/core/sorted_lists.hpp
//
// Sorted string lists, the shape every targeting and pricing list is compiled into at load
// time (sorted_list), and their membership tests (binary search, no allocation on the bid path).
//
//   std::vector<std::string> domains = {"example.com", "news.org"};  // sorted
//   bidder::domain_listed(domains, "www.example.com");                // true
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace bidder {

/// `values` (any range of strings) sorted and unique, each in its canonical form first when
/// `canonical` is given (e.g. openrtb::canonical_domain, as requests are folded). Load time.
template <class Range>
std::vector<std::string> sorted_list(const Range& values,
                                     std::string (*canonical)(std::string_view) = nullptr) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(canonical ? canonical(v) : std::string(v));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

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
