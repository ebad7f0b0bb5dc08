#include "bidder/core/json_text.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <string>

TEST_CASE("append_json_string writes a quoted RFC 8259 string literal", "[core][unit]") {
  std::string out = "x=";
  bidder::append_json_string(out, "a\"b\\c\bd\fe\n\r\t");
  CHECK(out == "x=\"a\\\"b\\\\c\\u0008d\\u000ce\\n\\r\\t\"");
  out.clear();
  bidder::append_json_string(out, "");
  CHECK(out == "\"\"");
}

TEST_CASE("append_json_string keeps valid UTF-8 and replaces invalid bytes with U+FFFD",
          "[core][unit]") {
  const auto [in, expected] = GENERATE(table<std::string, std::string>({
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"a\xff"
       "b",
       "\"a\\ufffdb\""},
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},             // overlong '/'
      {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},  // a UTF-16 surrogate
      {"\xe2\x82", "\"\\ufffd\\ufffd\""},             // cut short
  }));
  CAPTURE(in);
  std::string out;
  bidder::append_json_string(out, in);
  CHECK(out == expected);
  boost::system::error_code ec;
  boost::json::parse(out, ec);  // always valid JSON
  CHECK_FALSE(ec);
}

TEST_CASE("append_json_string round-trips random text of every length through a JSON parser",
          "[core][unit]") {
  // The fast path looks at 8 bytes at a time: every position of a special byte in a word, and
  // every tail length, must come out the same as plain text would.
  std::mt19937_64 rng(17);
  const std::string specials = std::string("\"\\\n\x01\x1f", 5) + "\xc3\xa9";
  for (int round = 0; round < 5000; ++round) {
    const std::size_t length = rng() % 40;
    std::string text;
    for (std::size_t i = 0; i < length; ++i) {
      text +=
          rng() % 5 == 0 ? specials[rng() % specials.size()] : static_cast<char>('a' + rng() % 26);
    }
    std::string out;
    bidder::append_json_string(out, text);
    boost::json::error_code ec;
    const boost::json::value v = boost::json::parse(out, ec);
    INFO("text of " << length << " bytes, round " << round);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_string());
    // Valid UTF-8 survives as is; a lone \xc3 or \xa9 becomes U+FFFD (checked above).
    if (text.find('\xc3') == std::string::npos && text.find('\xa9') == std::string::npos) {
      CHECK(std::string(v.as_string()) == text);
    }
  }
}
