// File: bidder/core/gzip.hpp
//
// gzip for HTTP bodies (Content-Encoding / Accept-Encoding), on zlib. Decompression is bounded:
// a small body that inflates past `limit` (a "zip bomb") stops at the limit with too_large.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"

namespace bidder {

/// Decompresses `in` chunk by chunk into `sink` (memory stays bounded whatever the size).
/// Errors as gunzip(); on error the sink may have seen part of the data.
[[nodiscard]] result<void> gunzip_each(std::string_view in, std::size_t limit,
                                       const std::function<void(std::string_view)>& sink);

/// True when `bytes` start with the gzip magic number.
inline bool looks_gzipped(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// Replaces `out` with the decompressed `in`. Errors: bad_encoding (not gzip, corrupt,
/// truncated, trailing garbage), too_large (more than `limit` bytes once inflated).
[[nodiscard]] result<void> gunzip(std::string_view in, std::size_t limit, std::string& out);

/// Replaces `out` with `in` gzip-compressed (fast level: responses are small).
void gzip(std::string_view in, std::string& out);

/// True when an Accept-Encoding value accepts gzip (a "gzip" token without q=0).
bool accepts_gzip(std::string_view accept_encoding) noexcept;

}  // namespace bidder
