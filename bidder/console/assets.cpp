#include "bidder/console/assets.hpp"

#include <algorithm>

namespace bidder::console {

const asset* find_asset(std::string_view path) noexcept {
  if (path.empty()) path = "index.html";
  const auto all = assets();
  const auto it = std::lower_bound(all.begin(), all.end(), path,
                                   [](const asset& a, std::string_view p) { return a.path < p; });
  return it != all.end() && it->path == path ? &*it : nullptr;
}

std::string_view content_type_for(std::string_view path) noexcept {
  struct by_extension {
    std::string_view extension, type;
  };
  static constexpr by_extension types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
  };
  for (const auto& t : types) {
    if (path.ends_with(t.extension)) return t.type;
  }
  return "application/octet-stream";
}

}  // namespace bidder::console
