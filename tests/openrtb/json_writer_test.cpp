#include "bidder/openrtb/json_writer.hpp"

// Header-only Boost.JSON, compiled into this one test file, to read the written JSON back.
#include <algorithm>
#include <boost/json/src.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/json_text.hpp"

namespace {

namespace json = boost::json;
using bidder::openrtb::bid;
using bidder::openrtb::bid_response;
using bidder::openrtb::markup_type;
using bidder::openrtb::write_json_response;

const std::vector<std::string> domains = {"shop.example", "brand.example"};
const std::vector<std::string> categories = {"IAB22"};

/// A response with a fully filled banner bid and a minimal video bid.
bid_response two_bids() {
  bid_response r;
  r.id = "req-1";
  r.cur = "EUR";
  r.seat = "demo-seat";
  bid& b1 = r.bids.emplace();
  b1.id = "abc-1-1";
  b1.imp_id = "imp-1";
  b1.price = 1.25;
  b1.adid = "ad-1";
  b1.crid = "cr-1";
  b1.cid = "camp-1";
  b1.adm = "<a href=\"x\">ad</a>";
  b1.dealid = "deal-7";
  b1.bundle = "com.example.app";
  b1.nurl = "http://n.example/win?p=${AUCTION_PRICE}";
  b1.burl = "http://n.example/bill?p=${AUCTION_PRICE}";
  b1.lurl = "http://n.example/loss?r=${AUCTION_LOSS}";
  b1.adomain = domains;
  b1.cat = categories;
  b1.w = 300;
  b1.h = 250;
  b1.mtype = markup_type::banner;
  bid& b2 = r.bids.emplace();
  b2.id = "abc-1-2";
  b2.imp_id = "imp-2";
  b2.price = 0.000001;
  b2.mtype = markup_type::video;
  return r;
}

json::value parse_json(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  INFO(text);
  REQUIRE_FALSE(ec);
  return v;
}

std::vector<std::string> string_array(const json::value& v) {
  std::vector<std::string> out;
  for (const json::value& item : v.as_array()) out.emplace_back(item.as_string());
  return out;
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("a response with two bids is written as JSON that parses back with every field",
          "[openrtb][unit]") {
  std::string out = "stale contents are replaced";
  write_json_response(two_bids(), out);
  const json::value doc = parse_json(out);
  const json::object& root = doc.as_object();

  CHECK(str(root.at("id")) == "req-1");
  CHECK(str(root.at("cur")) == "EUR");
  const json::array& seatbid = root.at("seatbid").as_array();
  REQUIRE(seatbid.size() == 1);
  CHECK(str(seatbid[0].at("seat")) == "demo-seat");
  const json::array& bids = seatbid[0].at("bid").as_array();
  REQUIRE(bids.size() == 2);

  const json::object& b1 = bids[0].as_object();
  CHECK(str(b1.at("id")) == "abc-1-1");
  CHECK(str(b1.at("impid")) == "imp-1");
  CHECK(b1.at("price").to_number<double>() == 1.25);
  CHECK(str(b1.at("adid")) == "ad-1");
  CHECK(str(b1.at("crid")) == "cr-1");
  CHECK(str(b1.at("cid")) == "camp-1");
  CHECK(str(b1.at("adm")) == "<a href=\"x\">ad</a>");
  CHECK(str(b1.at("dealid")) == "deal-7");
  CHECK(str(b1.at("bundle")) == "com.example.app");
  CHECK(str(b1.at("nurl")) == "http://n.example/win?p=${AUCTION_PRICE}");
  CHECK(str(b1.at("burl")) == "http://n.example/bill?p=${AUCTION_PRICE}");
  CHECK(str(b1.at("lurl")) == "http://n.example/loss?r=${AUCTION_LOSS}");
  CHECK(string_array(b1.at("adomain")) == domains);
  CHECK(string_array(b1.at("cat")) == categories);
  CHECK(b1.at("w").to_number<int>() == 300);
  CHECK(b1.at("h").to_number<int>() == 250);
  CHECK(b1.at("mtype").to_number<int>() == 1);
  CHECK(b1.size() == 17);

  // Empty optional fields are left out rather than written as "".
  const json::object& b2 = bids[1].as_object();
  CHECK(str(b2.at("id")) == "abc-1-2");
  CHECK(str(b2.at("impid")) == "imp-2");
  CHECK(b2.at("price").to_number<double>() == 0.000001);
  CHECK(b2.at("mtype").to_number<int>() == 2);
  for (const char* absent : {"adid", "crid", "cid", "adm", "dealid", "bundle", "nurl", "burl",
                             "lurl", "adomain", "cat", "w", "h"}) {
    CAPTURE(absent);
    CHECK_FALSE(b2.contains(absent));
  }
  CHECK(b2.size() == 4);
}

TEST_CASE("prices are written so that they read back exactly", "[openrtb][unit]") {
  const double price = GENERATE(0.01, 0.1, 1.5, 2.345678, 12.0, 150.123456, 1e-6, 9999.999999);
  CAPTURE(price);
  bid_response r = two_bids();
  r.bids[0].price = price;
  std::string out;
  write_json_response(r, out);
  const json::value doc = parse_json(out);
  CHECK(doc.at("seatbid").at(0).at("bid").at(0).at("price").to_number<double>() == price);
}

TEST_CASE("markup with quotes and backslashes and control characters and unicode is escaped",
          "[openrtb][unit]") {
  const std::string adm = std::string("say \"hi\" \\ back\\slash\n\r\t") + '\x01' + '\x1f' +
                          std::string(1, '\0') + "\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" +
                          " </script>";
  bid_response r = two_bids();
  r.bids[0].adm = adm;
  r.bids[0].crid = "quote\"id";
  std::string out;
  write_json_response(r, out);

  // Raw control bytes never reach the output; the multi-byte UTF-8 sequences pass through.
  CHECK(std::none_of(out.begin(), out.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
  CHECK_THAT(out, Catch::Contains("\\\"hi\\\""));
  CHECK_THAT(out, Catch::Contains("\\\\ back\\\\slash"));
  CHECK_THAT(out, Catch::Contains("\\n\\r\\t\\u0001\\u001f\\u0000"));
  CHECK_THAT(out, Catch::Contains("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));

  const json::value doc = parse_json(out);
  const json::value& b = doc.at("seatbid").at(0).at("bid").at(0);
  CHECK(str(b.at("adm")) == adm);
  CHECK(str(b.at("crid")) == "quote\"id");
}

TEST_CASE("markup escaped in advance is written as the writer would escape it", "[openrtb][unit]") {
  // The engine escapes each creative's markup once per snapshot, in parts cut at the click
  // macro, and the writer joins them with the bid's click URL; the answer must not differ by a
  // byte from escaping the joined markup here.
  const std::vector<std::string> raw_parts = {
      "<a href=\"", std::string("\">say \"hi\" \\ \n\t") + '\x01' + "caf\xc3\xa9 \xff", "\"/>"};
  const std::string joiner = GENERATE(std::string("https://n.example/c?a=1&b=%22"),
                                      std::string("odd\"joiner\\"), std::string());
  CAPTURE(joiner);
  std::string adm;
  std::vector<std::string> escaped;
  for (std::size_t i = 0; i < raw_parts.size(); ++i) {
    if (i > 0) adm += joiner;
    adm += raw_parts[i];
    bidder::append_json_escaped(escaped.emplace_back(), raw_parts[i]);
  }
  bid_response plain = two_bids();
  plain.bids[0].adm = adm;
  bid_response ready = two_bids();
  ready.bids[0].adm = adm;
  ready.bids[0].adm_json_parts = escaped;
  ready.bids[0].adm_json_joiner = joiner;
  std::string plain_out, ready_out;
  write_json_response(plain, plain_out);
  write_json_response(ready, ready_out);
  CHECK(ready_out == plain_out);
  // What a reader gets back: the markup, with the byte that is not UTF-8 as U+FFFD.
  std::string expected = adm;
  expected.replace(expected.find('\xff'), 1, "\xef\xbf\xbd");
  CHECK(str(parse_json(ready_out).at("seatbid").at(0).at("bid").at(0).at("adm")) == expected);
}

TEST_CASE("notice URLs a bid marks JSON-safe are written as the writer would escape them",
          "[openrtb][unit]") {
  const std::string joiner = "https://n.example:8443/rtb;v=1/click?a=1&b=%22&c=(x)'*";
  bid_response plain = two_bids();
  for (bid& b : plain.bids) {
    b.nurl = b.burl = b.lurl = joiner + "&k=" + std::string(b.id);
  }
  const std::vector<std::string> parts = {"<a href=\\\"", "\\\">x</a>"};
  const std::string adm = "<a href=\"" + joiner + "\">x</a>";
  plain.bids[0].adm = adm;
  plain.bids[0].adm_json_parts = parts;
  plain.bids[0].adm_json_joiner = joiner;
  bid_response safe = plain;
  for (bid& b : safe.bids) b.urls_json_safe = true;
  std::string plain_out, safe_out;
  write_json_response(plain, plain_out);
  write_json_response(safe, safe_out);
  CHECK(safe_out == plain_out);
  CHECK(str(parse_json(safe_out).at("seatbid").at(0).at("bid").at(0).at("adm")) == adm);
}

TEST_CASE("w and h are left out when either is 0", "[openrtb][unit]") {
  const auto [w, h] = GENERATE(table<int, int>({{0, 0}, {300, 0}, {0, 250}}));
  CAPTURE(w, h);
  bid_response r = two_bids();
  r.bids[0].w = w;
  r.bids[0].h = h;
  std::string out;
  write_json_response(r, out);
  const json::value doc = parse_json(out);
  const json::object& b = doc.at("seatbid").at(0).at("bid").at(0).as_object();
  CHECK_FALSE(b.contains("w"));
  CHECK_FALSE(b.contains("h"));
  CHECK(b.at("mtype").to_number<int>() == 1);
}

TEST_CASE("a response without seat and currency leaves both out", "[openrtb][unit]") {
  bid_response r = two_bids();
  r.seat = {};
  r.cur = {};
  std::string out;
  write_json_response(r, out);
  const json::value doc = parse_json(out);
  CHECK_FALSE(doc.as_object().contains("cur"));
  CHECK_FALSE(doc.at("seatbid").at(0).as_object().contains("seat"));
  CHECK(doc.at("seatbid").at(0).at("bid").as_array().size() == 2);
}
