// File: bidder/core/names.hpp
//
// Names that travel in URLs (campaign, creative and segment ids) are limited to RFC 3986
// "unreserved" characters, so they never need escaping in notice URLs or admin paths.
#pragma once

#include <cstddef>
#include <string_view>

namespace bidder {

/// Longest accepted id or name.
inline constexpr std::size_t max_name_bytes = 128;

inline bool is_url_safe_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_bytes) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';
    if (!ok) return false;
  }
  return true;
}

}  // namespace bidder
