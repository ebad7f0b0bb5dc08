#include "bidder/http/response_bytes.hpp"

#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

// The server writes answers rendered by render_response() instead of Beast's serializer: the
// bytes must be exactly the ones Beast would have written for the same message.

namespace {

namespace bhttp = boost::beast::http;
using bidder::http::response;

std::string beast_bytes(const response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

std::string rendered(const response& res) {
  std::string out = "left over from the last answer";
  bidder::http::render_response(res, out);
  return out;
}

}  // namespace

TEST_CASE("a bid answer renders as Beast writes it") {
  response res(bhttp::status::ok, 11);
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-openrtb-version", "2.6");
  res.body() = R"({"id":"1","seatbid":[{"bid":[{"id":"b","impid":"1","price":1.5}]}]})";
  res.keep_alive(true);
  res.prepare_payload();
  CHECK(rendered(res) == beast_bytes(res));
  CHECK(rendered(res).starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(rendered(res).ends_with("\r\n\r\n" + res.body()));
}

TEST_CASE("a no-bid without Content-Length renders as Beast writes it") {
  response res(bhttp::status::no_content, 11);
  res.set("x-openrtb-version", "2.6");
  res.prepare_payload();
  res.erase(bhttp::field::content_length);
  CHECK(rendered(res) == beast_bytes(res));
  CHECK(rendered(res) == "HTTP/1.1 204 No Content\r\nx-openrtb-version: 2.6\r\n\r\n");
}

TEST_CASE("HTTP/1.0 keep-alive, closing answers and custom reasons render as Beast writes them") {
  response keep(bhttp::status::ok, 10);
  keep.keep_alive(true);
  keep.body() = "ok\n";
  keep.prepare_payload();
  CHECK(rendered(keep) == beast_bytes(keep));
  CHECK(rendered(keep).starts_with("HTTP/1.0 200 OK\r\n"));

  response refused(bhttp::status::request_header_fields_too_large, 11);
  refused.set(bhttp::field::content_type, "text/plain");
  refused.set(bhttp::field::connection, "close");
  refused.body() = "request headers too large\n";
  refused.keep_alive(false);
  refused.prepare_payload();
  CHECK(rendered(refused) == beast_bytes(refused));

  response custom(bhttp::status::ok, 11);
  custom.reason("Fine");
  custom.prepare_payload();
  CHECK(rendered(custom) == beast_bytes(custom));
  CHECK(rendered(custom) == "HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n");

  response unknown(static_cast<bhttp::status>(599), 11);
  unknown.prepare_payload();
  CHECK(rendered(unknown) == beast_bytes(unknown));
}
