#include "bidder/core/gzip.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using bidder::accepts_gzip;
using bidder::errc;
using bidder::gunzip;
using bidder::gzip;

/// A deterministic, poorly compressible text (an LCG with a fixed seed).
std::string sample_text(std::size_t size) {
  std::string out;
  out.reserve(size);
  std::uint32_t state = 12345;
  for (std::size_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    out += static_cast<char>('a' + (state >> 16) % 26);
  }
  return out;
}

}  // namespace

TEST_CASE("gzip output gunzips back to the same bytes", "[core][unit]") {
  const std::string original = GENERATE(std::string(), std::string("{\"id\":\"1\"}"),
                                        sample_text(100000), std::string(1000, '\0'));
  std::string compressed;
  gzip(original, compressed);
  REQUIRE(compressed.size() >= 18);  // gzip header + trailer
  CHECK(static_cast<unsigned char>(compressed[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(compressed[1]) == 0x8b);

  std::string restored = "stale contents are replaced";
  auto r = gunzip(compressed, 1 << 20, restored);
  REQUIRE(r);
  CHECK(restored == original);
}

TEST_CASE("gunzip rejects bytes that are not a valid gzip stream", "[core][unit]") {
  std::string compressed;
  gzip(sample_text(4096), compressed);
  std::string out;

  SECTION("not gzip at all") {
    auto r = gunzip("{\"id\":\"plain json\"}", 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("empty body") {
    auto r = gunzip("", 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("corrupt deflate data") {
    std::string corrupt = compressed;
    for (std::size_t i = 10; i < 40 && i < corrupt.size(); ++i) corrupt[i] = '\xff';
    auto r = gunzip(corrupt, 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("corrupt CRC in the trailer") {
    std::string corrupt = compressed;
    corrupt[corrupt.size() - 8] ^= 0x55;
    auto r = gunzip(corrupt, 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("truncated in the middle") {
    auto r = gunzip(std::string_view(compressed).substr(0, compressed.size() / 2), 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("truncated trailer") {
    auto r = gunzip(std::string_view(compressed).substr(0, compressed.size() - 3), 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("header only") {
    auto r = gunzip(std::string_view(compressed).substr(0, 10), 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("trailing bytes after the gzip member") {
    auto r = gunzip(compressed + "garbage", 1 << 20, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
}

TEST_CASE("gunzip stops with too_large when the output passes the limit", "[core][unit]") {
  std::string compressed;
  gzip(std::string(10 << 20, '\0'), compressed);
  REQUIRE(compressed.size() < 100000);  // a zip bomb: small in, huge out

  std::string out;
  auto r = gunzip(compressed, 1 << 20, out);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::too_large);
  CHECK(out.size() <= std::size_t{1} << 20);

  SECTION("an output exactly at the limit is accepted") {
    std::string exact;
    gzip(std::string(1 << 20, 'x'), exact);
    auto ok = gunzip(exact, 1 << 20, out);
    REQUIRE(ok);
    CHECK(out.size() == std::size_t{1} << 20);
    auto over = gunzip(exact, (1 << 20) - 1, out);
    REQUIRE_FALSE(over);
    CHECK(over.error().code == errc::too_large);
  }
}

TEST_CASE("accepts_gzip reads Accept-Encoding tokens and q values", "[core][unit]") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, gzip;q=0.5"));
  CHECK(accepts_gzip("GZIP"));
  CHECK(accepts_gzip("br, Gzip"));
  CHECK(accepts_gzip("gzip;q=1.0"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("gzip;q=0.0"));
  CHECK_FALSE(accepts_gzip("br"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("deflate, br"));
  CHECK_FALSE(accepts_gzip("x-gzip2"));
}

TEST_CASE("gunzip_each hands over a large body in bounded chunks", "[core][unit]") {
  std::string original(1 << 20, 'x');
  for (std::size_t i = 0; i < original.size(); i += 97)
    original[i] = static_cast<char>('a' + i % 26);
  std::string compressed;
  gzip(original, compressed);
  REQUIRE(bidder::looks_gzipped(compressed));
  CHECK_FALSE(bidder::looks_gzipped(original));
  std::string restored;
  std::size_t chunks = 0, largest = 0;
  auto r = bidder::gunzip_each(compressed, 2 << 20, [&](std::string_view chunk) {
    ++chunks;
    largest = std::max(largest, chunk.size());
    restored.append(chunk);
  });
  REQUIRE(r);
  CHECK(restored == original);
  CHECK(chunks > 1);
  CHECK(largest <= bidder::gunzip_stream::piece_bytes);
}

TEST_CASE("gunzip_stream gives the same bytes and errors whatever the pieces", "[core][unit]") {
  const std::string original = sample_text(200000);
  std::string compressed;
  gzip(original, compressed);
  const std::size_t piece =
      GENERATE(std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20);
  INFO("piece " << piece);
  auto feed_all = [&](std::string_view bytes, std::string& out) -> bidder::result<void> {
    bidder::gunzip_stream stream(1 << 20);
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      auto r = stream.feed(bytes.substr(at, piece), [&](std::string_view p) { out.append(p); });
      if (!r) return r;
    }
    return stream.finish();
  };
  SECTION("whole") {
    std::string out;
    REQUIRE(feed_all(compressed, out));
    CHECK(out == original);
  }
  SECTION("truncated") {
    std::string out;
    auto r = feed_all(std::string_view(compressed).substr(0, compressed.size() - 3), out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("trailing bytes") {
    std::string out;
    auto r = feed_all(compressed + "x", out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_encoding);
  }
  SECTION("over the limit") {
    std::string out;
    bidder::gunzip_stream stream(1000);
    auto r = stream.feed(compressed, [&](std::string_view p) { out.append(p); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::too_large);
    CHECK_FALSE(stream.finish());  // stays failed
  }
}
