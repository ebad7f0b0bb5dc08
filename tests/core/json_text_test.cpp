#include "bidder/core/json_text.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
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
