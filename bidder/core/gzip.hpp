// File: bidder/http/gzip.hpp
//
// gzip for HTTP bodies (Content-Encoding / Accept-Encoding), on zlib. Decompression is bounded:
// a small body that inflates past `limit` (a "zip bomb") stops at the limit with too_large.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"

namespace bidder::http {

/// Replaces `out` with the decompressed `in`. Errors: bad_encoding (not gzip, corrupt,
/// truncated, trailing garbage), too_large (more than `limit` bytes once inflated).
[[nodiscard]] result<void> gunzip(std::string_view in, std::size_t limit, std::string& out);

/// Replaces `out` with `in` gzip-compressed (fast level: responses are small).
void gzip(std::string_view in, std::string& out);

/// True when an Accept-Encoding value accepts gzip (a "gzip" token without q=0).
bool accepts_gzip(std::string_view accept_encoding) noexcept;

}  // namespace bidder::http
