// libFuzzer target: bounded gzip decompression (bidder/core/gzip): gunzip with a small limit,
// the streaming decoder fed in chunks (sizes from the first byte), and accepts_gzip. Checks
// that the limit holds and that gunzip and the stream agree, and that gzip round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bidder/core/gzip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 97;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::size_t limit = 1 << 20;

  std::string whole;
  const auto r = bidder::gunzip(in, limit, whole);
  if (whole.size() > limit) std::abort();

  bidder::gunzip_stream stream(limit);
  std::string pieces;
  bool ok = true;
  for (std::string_view rest = in; !rest.empty() && ok;) {
    const std::size_t n = std::min(chunk, rest.size());
    ok = static_cast<bool>(stream.feed(rest.substr(0, n), [&](std::string_view piece) {
      if (piece.size() > bidder::gunzip_stream::piece_bytes) std::abort();
      pieces.append(piece);
    }));
    rest.remove_prefix(n);
  }
  if (ok) ok = static_cast<bool>(stream.finish());
  if (stream.produced() > limit || pieces.size() > limit) std::abort();
  if (ok != static_cast<bool>(r)) std::abort();  // the chunking must not change the verdict
  if (ok && pieces != whole) std::abort();

  (void)bidder::accepts_gzip(in);

  std::string compressed, back;
  bidder::gzip(in, compressed);
  if (!bidder::gunzip(compressed, in.size() + 1, back) || back != in) std::abort();
  return 0;
}
