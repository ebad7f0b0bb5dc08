// Tests of bench/load/http_response_reader: framing by Content-Length, chunked coding, the
// end of the connection, bodiless statuses, keep-alive, split reads and garbage.
#include "bench/load/http_response_reader.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace bidder::bench;

TEST_CASE("a 204 without Content-Length is complete after its headers", "[bench][unit]") {
  const std::string r = "HTTP/1.1 204 No Content\r\nx-openrtb-version: 2.6\r\n\r\n";
  parsed_response out;
  REQUIRE(parse_response(r, out) == parse_state::complete);
  CHECK(out.status == 204);
  CHECK(out.keep_alive);
  CHECK(out.size == r.size());
}

TEST_CASE("a Content-Length body is waited for, byte by byte", "[bench][unit]") {
  const std::string r =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
      "11\r\n\r\n{\"id\":\"1\"}\n"
      "HTTP/1.1 204 No Content\r\n\r\n";  // the next response must not be counted
  const std::size_t first = r.find("HTTP/1.1 204");
  parsed_response out;
  for (std::size_t n = 0; n < first; ++n) {
    INFO(n);
    REQUIRE(parse_response(std::string_view(r).substr(0, n), out) == parse_state::incomplete);
  }
  REQUIRE(parse_response(r, out) == parse_state::complete);
  CHECK(out.status == 200);
  CHECK(out.size == first);
}

TEST_CASE("chunked bodies end at the zero chunk and its trailers", "[bench][unit]") {
  const std::string r =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n";
  parsed_response out;
  for (std::size_t n = 0; n < r.size(); ++n) {
    INFO(n);
    REQUIRE(parse_response(std::string_view(r).substr(0, n), out) == parse_state::incomplete);
  }
  REQUIRE(parse_response(r, out) == parse_state::complete);
  CHECK(out.size == r.size());
  CHECK(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", out) ==
        parse_state::malformed);
}

TEST_CASE("keep-alive follows the version and the Connection header", "[bench][unit]") {
  parsed_response out;
  REQUIRE(parse_response("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", out) ==
          parse_state::complete);
  CHECK(!out.keep_alive);
  REQUIRE(parse_response("HTTP/1.0 204 No Content\r\n\r\n", out) == parse_state::complete);
  CHECK(!out.keep_alive);
  REQUIRE(parse_response("HTTP/1.0 204 No Content\r\nconnection: Keep-Alive\r\n\r\n", out) ==
          parse_state::complete);
  CHECK(out.keep_alive);
}

TEST_CASE("a body without length runs to the end of the connection", "[bench][unit]") {
  parsed_response out;
  CHECK(parse_response("HTTP/1.1 400 Bad Request\r\n\r\nbad json", out) == parse_state::incomplete);
  CHECK(out.until_close);
  CHECK(out.status == 400);
  CHECK(!out.keep_alive);
}

TEST_CASE("statuses and garbage", "[bench][unit]") {
  parsed_response out;
  REQUIRE(parse_response("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", out) ==
          parse_state::complete);
  CHECK(out.status == 503);
  CHECK(parse_response("SSH-2.0-OpenSSH\r\n", out) == parse_state::malformed);
  CHECK(parse_response("HTTP/1.1 2x4 No\r\n\r\n", out) == parse_state::malformed);
  CHECK(parse_response("HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n", out) ==
        parse_state::malformed);
  CHECK(parse_response("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", out) == parse_state::malformed);
  CHECK(parse_response("HTT", out) == parse_state::incomplete);
  CHECK(parse_response(std::string(max_response_header_bytes + 10, 'x'), out) ==
        parse_state::malformed);
}
