// File: bidder/core/gzip.hpp
//
// gzip for HTTP bodies (Content-Encoding / Accept-Encoding), on zlib. Decompression is bounded:
// a small body that inflates past `limit` (a "zip bomb") stops at the limit with too_large.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"

namespace bidder {

/// Decompresses `in` chunk by chunk into `sink` (memory stays bounded whatever the size).
/// Errors as gunzip(); on error the sink may have seen part of the data.
[[nodiscard]] result<void> gunzip_each(std::string_view in, std::size_t limit,
                                       const std::function<void(std::string_view)>& sink);

/// Decompresses a gzip stream that arrives in pieces (an upload read from the network), with
/// bounded memory: each feed() inflates into a piece_bytes buffer handed to `sink` piece by piece.
/// One gzip member; bytes after its end are an error, as in gunzip(). Not thread-safe.
///
///   gunzip_stream z(limit);
///   for (chunk : upload) if (auto r = z.feed(chunk, sink); !r) fail(r.error());
///   if (auto r = z.finish(); !r) fail(r.error());   // truncated?
class gunzip_stream {
 public:
  /// The largest piece handed to a sink: big enough that per-piece costs vanish when parsing.
  static constexpr std::size_t piece_bytes = 65536;

  explicit gunzip_stream(std::size_t limit);
  ~gunzip_stream();
  gunzip_stream(const gunzip_stream&) = delete;
  gunzip_stream& operator=(const gunzip_stream&) = delete;

  /// Inflates the next compressed bytes. Errors as gunzip(); after an error the stream stays
  /// failed and later calls return the same error.
  [[nodiscard]] result<void> feed(std::string_view in,
                                  const std::function<void(std::string_view)>& sink);
  /// Checks that the gzip member ended. Errors: bad_encoding (truncated), or an earlier error.
  [[nodiscard]] result<void> finish();
  /// Decompressed bytes produced so far.
  std::size_t produced() const noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// True when `bytes` start with the gzip magic number.
inline bool looks_gzipped(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// Replaces `out` with the decompressed `in`. Errors: bad_encoding (not gzip, corrupt,
/// truncated, trailing garbage), too_large (more than `limit` bytes once inflated).
[[nodiscard]] result<void> gunzip(std::string_view in, std::size_t limit, std::string& out);

/// Replaces `out` with `in` gzip-compressed (fast level: responses are small). Throws
/// std::bad_alloc when memory runs out, leaking nothing.
void gzip(std::string_view in, std::string& out);

/// True when an Accept-Encoding value accepts gzip (a "gzip" token without q=0).
bool accepts_gzip(std::string_view accept_encoding) noexcept;

}  // namespace bidder
