#include "bidder/core/codec.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

TEST_CASE("varints round-trip at every length and refuse truncated or overlong input",
          "[core][codec]") {
  for (std::uint64_t v :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{127}, std::uint64_t{128},
        std::uint64_t{300}, std::uint64_t{1} << 35, UINT64_MAX}) {
    std::string out = "x";
    bidder::put_varint(out, v);
    CHECK(out.size() == 1 + bidder::varint_size(v));
    std::string_view in(out);
    in.remove_prefix(1);
    std::uint64_t back = 0;
    REQUIRE(bidder::get_varint(in, back));
    CHECK(back == v);
    CHECK(in.empty());
  }
  std::string_view cut("\xAC");  // a continuation byte, then nothing
  std::uint64_t v = 0;
  CHECK_FALSE(bidder::get_varint(cut, v));
  const std::string eleven(11, '\x80');  // never ends within 64 bits
  std::string_view overlong(eleven);
  CHECK_FALSE(bidder::get_varint(overlong, v));
}

TEST_CASE("hex digits", "[core][codec]") {
  CHECK(bidder::hex_value('0') == 0);
  CHECK(bidder::hex_value('f') == 15);
  CHECK(bidder::hex_value('F') == 15);
  CHECK(bidder::hex_value('g') == -1);
  std::string out;
  bidder::append_hex(out, 0x9f2c51d0a7b3e4c1ULL, 16);
  CHECK(out == "9f2c51d0a7b3e4c1");
  out.clear();
  bidder::append_hex(out, 0xAB, 4);
  CHECK(out == "00ab");
}

TEST_CASE("percent-encoding keeps unreserved bytes and round-trips the rest", "[core][codec]") {
  std::string encoded;
  bidder::append_percent_encoded(encoded, "a b/c~d.e_f-g:h\xff");
  CHECK(encoded == "a%20b%2Fc~d.e_f-g%3Ah%FF");
  std::string kept;
  bidder::append_percent_encoded(kept, "user:1", ":");
  CHECK(kept == "user:1");
  std::string edges = "x";  // appends; escapes first, last and back to back
  bidder::append_percent_encoded(edges, std::string_view("\0/?a&&", 6));
  CHECK(edges == "x%00%2F%3Fa%26%26");
  std::string decoded;
  REQUIRE(bidder::append_percent_decoded(decoded, encoded, false, bidder::bad_escape::fail));
  CHECK(decoded == "a b/c~d.e_f-g:h\xff");

  std::string plus;
  REQUIRE(bidder::append_percent_decoded(plus, "a+b%2b", true, bidder::bad_escape::fail));
  CHECK(plus == "a b+");
  plus.clear();
  REQUIRE(bidder::append_percent_decoded(plus, "a+b", false, bidder::bad_escape::fail));
  CHECK(plus == "a+b");

  for (const char* bad : {"%", "%4", "%zz", "ab%g1"}) {
    std::string out;
    CHECK_FALSE(bidder::append_percent_decoded(out, bad, false, bidder::bad_escape::fail));
    out.clear();
    CHECK(bidder::append_percent_decoded(out, bad, false, bidder::bad_escape::keep));
    CHECK(out == bad);  // kept as written
  }
}
