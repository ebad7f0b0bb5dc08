// File: bidder/console/assets.hpp
//
// The browser console's files (bidder/console/web, docs/console.md), embedded in the binary at
// build time by bidder/console/console.cmake: each file of the bundle's output as bytes, with its
// content type. The admin port serves them under /console/ (bidder/http/console_files.hpp).
//
//   if (const auto* a = bidder::console::find_asset("app.js")) send(a->content_type, a->body);
#pragma once

#include <span>
#include <string_view>

namespace bidder::console {

struct asset {
  std::string_view path;          ///< relative to /console/, e.g. "index.html", "app.js"
  std::string_view content_type;  ///< e.g. "text/javascript; charset=utf-8"
  std::string_view body;          ///< the file's bytes (static storage)
};

/// Every embedded file, in path order.
[[nodiscard]] std::span<const asset> assets() noexcept;

/// The file at `path` (no leading '/'), or null. "" is "index.html".
[[nodiscard]] const asset* find_asset(std::string_view path) noexcept;

/// The content type for a file name, by its extension ("application/octet-stream" if unknown).
[[nodiscard]] std::string_view content_type_for(std::string_view path) noexcept;

/// True when the bundle was built (npm was there at build time); false: a placeholder page.
[[nodiscard]] bool bundle_built() noexcept;

}  // namespace bidder::console
