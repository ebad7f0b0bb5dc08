#include "bidder/openrtb/json_decoder.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/corpus.hpp"

namespace {

using bidder::errc;
using bidder::openrtb::bid_request;
using bidder::openrtb::inventory_kind;
using bidder::openrtb::json_decoder;
using bidder::openrtb::user_id_kind;

std::vector<std::string> strings(const bidder::reuse_vector<std::string_view>& v) {
  return {v.begin(), v.end()};
}
std::vector<int> ints(const bidder::reuse_vector<std::int32_t>& v) { return {v.begin(), v.end()}; }
std::vector<std::pair<int, int>> sizes(const bidder::reuse_vector<bidder::openrtb::format>& v) {
  std::vector<std::pair<int, int>> out;
  for (const auto& f : v) out.emplace_back(f.w, f.h);
  return out;
}

/// The error message of a failed result, or "" on success (Catch2 shows it when a check fails).
std::string error_of(const bidder::result<void>& r) {
  return r ? std::string() : r.error().message;
}

/// Replaces the first `from` in `text` with `to` (the fixture must contain it).
std::string replace(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// A full OpenRTB 2.6 request: two imps (banner+video with a deal, audio+native), site,
// device with geo, user with ids, eids and a geo, regs in the 2.6 places, and unknown fields
// and enum values everywhere.
constexpr std::string_view full_request = R"({
  "id": "req-full",
  "at": 1,
  "tmax": 120,
  "test": 1,
  "allimps": 1,
  "cur": ["EUR", "USD"],
  "bcat": ["IAB25", "IAB26"],
  "badv": ["blocked.example"],
  "bapp": ["com.blocked.app"],
  "wseat": ["seat-a", "seat-b"],
  "bseat": ["seat-z"],
  "acat": ["IAB1"],
  "source": {"fd": 1, "tid": "t-1", "schain": {"complete": 1, "nodes": [{"asi": "x.com", "sid": "1", "hp": 1}]}},
  "imp": [
    {
      "id": "imp-1",
      "tagid": "top-slot",
      "instl": 1,
      "secure": 1,
      "bidfloor": 0.75,
      "bidfloorcur": "EUR",
      "rwdd": 0,
      "banner": {
        "format": [{"w": 728, "h": 90}, {"w": 320, "h": 50, "wratio": 0}, {"wratio": 16, "hratio": 9}],
        "w": 300,
        "h": 250,
        "battr": [3, 9],
        "pos": 99,
        "api": [3, 5, 1000],
        "ext": {"anything": [1, 2, {"deep": true}]}
      },
      "video": {
        "mimes": ["video/mp4", "video/webm"],
        "minduration": 5,
        "maxduration": 30,
        "protocols": [2, 3, 7, 500],
        "w": 640,
        "h": 360,
        "battr": [16],
        "plcmt": 42
      },
      "pmp": {
        "private_auction": 1,
        "deals": [
          {"id": "deal-1", "bidfloor": 2.5, "bidfloorcur": "GBP", "wseat": ["seat-a", "seat-c"], "at": 3},
          {"id": "deal-2"}
        ]
      },
      "ext": {"prebid": {"bidder": {"x": {}}}}
    },
    {
      "id": "imp-2",
      "audio": {"mimes": ["audio/mpeg"], "minduration": 10, "maxduration": 60, "battr": [1], "feed": 3},
      "native": {"request": "{\"native\":{\"ver\":\"1.2\",\"assets\":[]}}", "ver": "1.2", "battr": [7]}
    }
  ],
  "site": {
    "id": "site-1",
    "domain": "news.example.com",
    "page": "https://news.example.com/a?b=c",
    "cat": ["IAB12"],
    "sectioncat": ["IAB12-1"],
    "pagecat": ["IAB12-2"],
    "publisher": {"id": "pub-9", "name": "News", "cat": ["IAB3"]},
    "content": {"language": "en"}
  },
  "device": {
    "ua": "Mozilla/5.0",
    "ip": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "devicetype": 2,
    "os": "Windows",
    "ifa": "ifa-1",
    "dnt": 0,
    "connectiontype": 77,
    "geo": {"country": "USA", "region": "CA", "zip": "90210", "lat": 34.1, "type": 2}
  },
  "user": {
    "id": "user-1",
    "buyeruid": "buyer-1",
    "consent": "CONSENT-26",
    "yob": 1980,
    "geo": {"country": "FRA", "region": "IDF", "zip": "75001"},
    "eids": [
      {"source": "uidapi.com", "uids": [{"id": "uid2-a", "atype": 3}, {"id": "uid2-b"}]},
      {"uids": [{"id": "pubcid-1"}], "source": "pubcid.org"}
    ],
    "data": [{"id": "d", "segment": [{"id": "s1"}]}],
    "ext": {"consent": "CONSENT-25", "eids": [{"source": "liveramp.com", "uids": [{"id": "lr-1"}]}]}
  },
  "regs": {
    "coppa": 0,
    "gdpr": 1,
    "us_privacy": "1YNN",
    "gpp": "DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
    "gpp_sid": [2],
    "ext": {"gdpr": 0, "us_privacy": "1YYY"}
  },
  "ext": {"prebid": {"debug": true}}
})";

constexpr std::string_view minimal = R"({"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]})";

/// One decoder shared by the tests, as a worker thread has one: the views in a decoded request
/// stay valid until the next decode.
json_decoder& shared_decoder() {
  static json_decoder decoder;
  return decoder;
}

bidder::result<void> decode(std::string_view json, bid_request& out) {
  return shared_decoder().decode(json, out);
}

/// Decodes `json`, which must fail, and returns the error.
bidder::error decode_error(std::string_view json) {
  bid_request out;
  auto r = shared_decoder().decode(json, out);
  REQUIRE_FALSE(r);
  return r.error();
}

}  // namespace

TEST_CASE("a full OpenRTB 2.6 request decodes every field", "[openrtb][unit]") {
  bid_request r;
  json_decoder decoder;
  auto result = decoder.decode(full_request, r);
  INFO(error_of(result));
  REQUIRE(result);

  CHECK(r.id == "req-full");
  CHECK(r.auction_type == 1);
  CHECK(r.tmax_ms == 120);
  CHECK(r.test);
  CHECK(r.allimps);
  CHECK(strings(r.cur) == std::vector<std::string>{"EUR", "USD"});
  CHECK(strings(r.bcat) == std::vector<std::string>{"IAB25", "IAB26"});
  CHECK(strings(r.badv) == std::vector<std::string>{"blocked.example"});
  CHECK(strings(r.bapp) == std::vector<std::string>{"com.blocked.app"});
  CHECK(strings(r.wseat) == std::vector<std::string>{"seat-a", "seat-b"});
  CHECK(strings(r.bseat) == std::vector<std::string>{"seat-z"});

  REQUIRE(r.imps.size() == 2);
  const auto& i1 = r.imps[0];
  CHECK(i1.id == "imp-1");
  CHECK(i1.tagid == "top-slot");
  CHECK(i1.instl);
  CHECK(i1.bidfloor == 0.75);
  CHECK(i1.bidfloorcur == "EUR");
  CHECK(i1.banner.present);
  // banner.w/h first although it comes after format; formats without w/h are dropped.
  CHECK(sizes(i1.banner.formats) ==
        std::vector<std::pair<int, int>>{{300, 250}, {728, 90}, {320, 50}});
  CHECK(ints(i1.banner.battr) == std::vector<int>{3, 9});
  CHECK(i1.video.present);
  CHECK(strings(i1.video.mimes) == std::vector<std::string>{"video/mp4", "video/webm"});
  CHECK(i1.video.minduration == 5);
  CHECK(i1.video.maxduration == 30);
  CHECK(i1.video.w == 640);
  CHECK(i1.video.h == 360);
  CHECK(ints(i1.video.battr) == std::vector<int>{16});
  CHECK_FALSE(i1.audio.present);
  CHECK_FALSE(i1.native.present);
  CHECK(i1.private_auction);
  REQUIRE(i1.deals.size() == 2);
  CHECK(i1.deals[0].id == "deal-1");
  CHECK(i1.deals[0].bidfloor == 2.5);
  CHECK(i1.deals[0].bidfloorcur == "GBP");
  CHECK(strings(i1.deals[0].wseat) == std::vector<std::string>{"seat-a", "seat-c"});
  CHECK(i1.deals[1].id == "deal-2");
  CHECK(i1.deals[1].bidfloor == 0);
  CHECK(i1.deals[1].bidfloorcur.empty());
  CHECK(i1.deals[1].wseat.empty());

  const auto& i2 = r.imps[1];
  CHECK(i2.id == "imp-2");
  CHECK(i2.tagid.empty());
  CHECK_FALSE(i2.instl);
  CHECK(i2.bidfloor == 0);
  CHECK(i2.bidfloorcur.empty());
  CHECK_FALSE(i2.private_auction);
  CHECK(i2.deals.empty());
  CHECK_FALSE(i2.banner.present);
  CHECK_FALSE(i2.video.present);
  CHECK(i2.audio.present);
  CHECK(strings(i2.audio.mimes) == std::vector<std::string>{"audio/mpeg"});
  CHECK(i2.audio.minduration == 10);
  CHECK(i2.audio.maxduration == 60);
  CHECK(ints(i2.audio.battr) == std::vector<int>{1});
  CHECK(i2.native.present);
  CHECK(ints(i2.native.battr) == std::vector<int>{7});

  CHECK(r.inventory == inventory_kind::site);
  CHECK(r.domain == "news.example.com");
  CHECK(r.page == "https://news.example.com/a?b=c");
  CHECK(r.bundle.empty());
  CHECK(r.publisher_id == "pub-9");
  CHECK(strings(r.content_cat) == std::vector<std::string>{"IAB12", "IAB12-1", "IAB12-2"});

  CHECK(r.devicetype == 2);
  CHECK(r.os == "Windows");
  CHECK(r.ifa == "ifa-1");
  CHECK(r.ip == "192.0.2.1");
  CHECK(r.ua == "Mozilla/5.0");
  // device.geo wins over user.geo.
  CHECK(r.country == "USA");
  CHECK(r.region == "CA");
  CHECK(r.zip == "90210");

  CHECK(r.user_id == "user-1");
  CHECK(r.buyeruid == "buyer-1");
  REQUIRE(r.eids.size() == 4);
  CHECK(r.eids[0].kind == user_id_kind::eid);
  CHECK(r.eids[0].source == "uidapi.com");
  CHECK(r.eids[0].id == "uid2-a");
  CHECK(r.eids[1].source == "uidapi.com");
  CHECK(r.eids[1].id == "uid2-b");
  CHECK(r.eids[2].source == "pubcid.org");  // source after uids still applies
  CHECK(r.eids[2].id == "pubcid-1");
  CHECK(r.eids[3].source == "liveramp.com");  // from user.ext.eids
  CHECK(r.eids[3].id == "lr-1");

  // 2.6 fields win over the 2.5 ext locations when both are present.
  CHECK_FALSE(r.coppa);
  REQUIRE(r.gdpr.has_value());
  CHECK(*r.gdpr == true);
  CHECK(r.us_privacy == "1YNN");
  CHECK(r.consent == "CONSENT-26");
}

TEST_CASE("a 2.5 request's regs.ext and user.ext fields fill the 2.6 fields", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
      "user":{"ext":{"consent":"CONSENT-25","eids":[{"source":"id5-sync.com","uids":[{"id":"id5-1"}]}]}},
      "regs":{"coppa":1,"ext":{"gdpr":1,"us_privacy":"1YYN"}}})",
                       r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.consent == "CONSENT-25");
  REQUIRE(r.gdpr.has_value());
  CHECK(*r.gdpr == true);
  CHECK(r.us_privacy == "1YYN");
  CHECK(r.coppa);
  REQUIRE(r.eids.size() == 1);
  CHECK(r.eids[0].source == "id5-sync.com");
  CHECK(r.eids[0].id == "id5-1");

  SECTION("a 2.6 gdpr of 0 wins over an ext gdpr of 1") {
    auto again = decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "regs":{"gdpr":0,"ext":{"gdpr":1}}})",
                        r);
    REQUIRE(again);
    REQUIRE(r.gdpr.has_value());
    CHECK(*r.gdpr == false);
  }
  SECTION("no gdpr anywhere leaves it unknown") {
    auto again = decode(minimal, r);
    REQUIRE(again);
    CHECK_FALSE(r.gdpr.has_value());
    CHECK(r.consent.empty());
    CHECK(r.us_privacy.empty());
  }
}

TEST_CASE("user.geo is used when the device has no geo", "[openrtb][unit]") {
  bid_request r;
  SECTION("no device.geo") {
    REQUIRE(decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "user":{"geo":{"country":"FRA","region":"IDF","zip":"75001"}},"device":{"ua":"x"}})",
                   r));
  }
  SECTION("an empty device.geo, device after user") {
    REQUIRE(decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "user":{"geo":{"country":"FRA","region":"IDF","zip":"75001"}},"device":{"geo":{"lat":1}}})",
                   r));
  }
  CHECK(r.country == "FRA");
  CHECK(r.region == "IDF");
  CHECK(r.zip == "75001");
}

TEST_CASE("native decodes with its request as a string and as an object", "[openrtb][unit]") {
  const std::string json = GENERATE(
      std::string(
          R"({"id":"r","imp":[{"id":"1","native":{"request":"{\"ver\":\"1.2\",\"assets\":[{\"id\":1}]}","ver":"1.2"}}]})"),
      std::string(
          R"({"id":"r","imp":[{"id":"1","native":{"request":{"native":{"ver":"1.2","assets":[{"id":1,"title":{"len":90}}]}},"ver":"1.2"}}]})"));
  bid_request r;
  auto result = decode(json, r);
  INFO(error_of(result));
  REQUIRE(result);
  REQUIRE(r.imps.size() == 1);
  CHECK(r.imps[0].native.present);
  CHECK_FALSE(r.imps[0].banner.present);
}

TEST_CASE("an app request fills bundle and domain and is app inventory", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50}}],
      "app":{"bundle":"com.example.game","domain":"game.example","cat":["IAB9"],
             "publisher":{"id":"p-1"},"storeurl":"https://store/x"},
      "device":{"ifa":"AAAA-BBBB","devicetype":4,"os":"iOS","ipv6":"2001:db8::2"}})",
                       r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.inventory == inventory_kind::app);
  CHECK(r.bundle == "com.example.game");
  CHECK(r.domain == "game.example");
  CHECK(r.page.empty());
  CHECK(r.publisher_id == "p-1");
  CHECK(strings(r.content_cat) == std::vector<std::string>{"IAB9"});
  CHECK(r.ifa == "AAAA-BBBB");
  CHECK(r.devicetype == 4);
  CHECK(r.ip == "2001:db8::2");  // ipv6 when there is no ip
}

TEST_CASE("when a request has both site and app the first one wins", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
      "site":{"domain":"site.example","cat":["IAB1"]},
      "app":{"bundle":"com.app","domain":"app.example","cat":["IAB2"]}})",
                       r);
  REQUIRE(result);
  CHECK(r.inventory == inventory_kind::site);
  CHECK(r.domain == "site.example");
  CHECK(r.bundle.empty());
  CHECK(strings(r.content_cat) == std::vector<std::string>{"IAB1"});
}

TEST_CASE("unknown fields and unknown enum values are ignored", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(R"({"zzz":{"a":[1,2,{"b":null}]},"id":"r","newfield2030":"x",
      "imp":[{"id":"1","banner":{"w":300,"h":250,"mystery":[true,false]},"unknown":3.5e10}],
      "at":7,"device":{"devicetype":999,"newthing":{}},"ext":null})",
                       r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.id == "r");
  REQUIRE(r.imps.size() == 1);
  CHECK(sizes(r.imps[0].banner.formats) == std::vector<std::pair<int, int>>{{300, 250}});
  CHECK(r.devicetype == 999);
  CHECK(r.auction_type == 7);
}

TEST_CASE("JSON null counts as absent", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(R"({"id":"r","tmax":null,"cur":null,"bcat":[null,"IAB1"],"site":null,
      "app":{"bundle":"com.app"},"device":null,"user":{"id":null,"geo":null},"regs":{"gdpr":null},
      "imp":[{"id":"1","bidfloor":null,"bidfloorcur":null,"video":null,"pmp":null,
              "banner":{"w":null,"h":null,"format":[{"w":300,"h":250}],"battr":null}}]})",
                       r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.tmax_ms == 0);
  CHECK(r.cur.empty());
  CHECK(strings(r.bcat) == std::vector<std::string>{"IAB1"});
  CHECK(r.inventory == inventory_kind::app);  // the null site does not take the slot
  CHECK(r.bundle == "com.app");
  CHECK(r.user_id.empty());
  CHECK_FALSE(r.gdpr.has_value());
  REQUIRE(r.imps.size() == 1);
  CHECK(r.imps[0].bidfloor == 0);
  CHECK_FALSE(r.imps[0].video.present);
  CHECK(r.imps[0].banner.present);
  CHECK(sizes(r.imps[0].banner.formats) == std::vector<std::pair<int, int>>{{300, 250}});

  SECTION("a null media object alone leaves the imp without media") {
    const auto e = decode_error(R"({"id":"r","imp":[{"id":"1","banner":null}]})");
    CHECK(e.code == errc::missing_field);
  }
}

TEST_CASE("integers written as doubles and flags as booleans are accepted", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(R"({"id":"r","test":true,"tmax":150.0,
      "imp":[{"id":"1","instl":true,"banner":{"w":300.0,"h":250}}]})",
                       r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.test);
  CHECK(r.tmax_ms == 150);
  CHECK(r.imps[0].instl);
  CHECK(sizes(r.imps[0].banner.formats) == std::vector<std::pair<int, int>>{{300, 250}});
}

TEST_CASE("integers in every JSON number form read the same, out of range ones are refused",
          "[openrtb][unit]") {
  // cattax keeps any integer as read (banner sizes drop those below 1).
  const auto request = [](const std::string& cattax) {
    return R"({"id":"r","cattax":)" + cattax + R"(,"imp":[{"id":"1","banner":{}}]})";
  };
  const auto [written, expected] = GENERATE(table<std::string, int>({
      {"300", 300},
      {"300.0", 300},
      {"3e2", 300},
      {"3.0E+2", 300},
      {"-0", 0},
      {"-7", -7},
      {"2147483647", 2147483647},
      {"-2147483648", -2147483647 - 1},
  }));
  CAPTURE(written);
  bid_request r;
  auto result = decode(request(written), r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.cattax == expected);

  const std::string too_big = GENERATE(std::string("2147483648"), std::string("-2147483649"),
                                       std::string("99999999999999999999"), std::string("3e10"));
  CAPTURE(too_big);
  auto refused = decode(request(too_big), r);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "cattax: expected an integer");
  auto malformed = decode(request("01"), r);
  REQUIRE_FALSE(malformed);
  CHECK(malformed.error().code == errc::malformed_request);
}

TEST_CASE("malformed requests are refused with their errc and the field path", "[openrtb][unit]") {
  struct bad_case {
    std::string name;
    std::string json;
    errc code;
    std::string message;  // expected prefix of the message
  };
  const std::string good(minimal);
  const auto c = GENERATE_COPY(values<bad_case>({
      {"truncated JSON in a number", good.substr(0, good.size() - 5), errc::malformed_request,
       "imp[0].banner.h: malformed JSON"},
      {"truncated JSON in a string", good.substr(0, good.size() - 10), errc::malformed_request,
       "request: malformed JSON"},
      {"truncated JSON in the imp array", R"({"id":"r","imp":[)", errc::malformed_request,
       "imp[0]: malformed JSON"},
      {"trailing bytes", good + " {}", errc::malformed_request,
       "request: unexpected bytes after the JSON object"},
      {"trailing garbage", good + "garbage", errc::malformed_request, "request"},
      {"id as a number", replace(good, R"("id":"r")", R"("id":123)"), errc::invalid_field,
       "id: expected a string"},
      {"banner.w as a string", replace(good, R"("w":300)", R"("w":"300")"), errc::invalid_field,
       "imp[0].banner.w: expected an integer"},
      {"banner.w fractional", replace(good, R"("w":300)", R"("w":300.5)"), errc::invalid_field,
       "imp[0].banner.w: expected an integer"},
      {"imp not an array", R"({"id":"r","imp":{"id":"1"}})", errc::invalid_field,
       "imp: expected an array"},
      {"request not an object", R"(["id","imp"])", errc::invalid_field,
       "request: expected an object"},
      {"empty imp array", R"({"id":"r","imp":[]})", errc::missing_field, "imp: missing or empty"},
      {"no imp at all", R"({"id":"r"})", errc::missing_field, "imp: missing or empty"},
      {"no id", R"({"imp":[{"id":"1","banner":{}}]})", errc::missing_field, "id: missing"},
      {"empty id", R"({"id":"","imp":[{"id":"1","banner":{}}]})", errc::missing_field,
       "id: missing"},
      {"imp without media", R"({"id":"r","imp":[{"id":"1","tagid":"t"}]})", errc::missing_field,
       "imp[0]: no banner, video, audio or native object"},
      {"second imp without id", R"({"id":"r","imp":[{"id":"1","banner":{}},{"banner":{}}]})",
       errc::missing_field, "imp[1].id: missing"},
      {"two imps with one id",
       R"({"id":"r","imp":[{"id":"1","banner":{}},{"id":"2","banner":{}},{"id":"1","banner":{}}]})",
       errc::invalid_field, "imp[2].id: repeats an earlier imp's id"},
      {"deal without id", R"({"id":"r","imp":[{"id":"1","banner":{},"pmp":{"deals":[{}]}}]})",
       errc::missing_field, "imp[0].pmp.deals[0].id: missing"},
      {"negative bidfloor", R"({"id":"r","imp":[{"id":"1","banner":{},"bidfloor":-0.5}]})",
       errc::invalid_field, "imp[0].bidfloor: expected a non-negative number"},
      {"bidfloor as a string", R"({"id":"r","imp":[{"id":"1","banner":{},"bidfloor":"1"}]})",
       errc::invalid_field, "imp[0].bidfloor: expected a number"},
      {"negative deal bidfloor",
       R"({"id":"r","imp":[{"id":"1","banner":{},"pmp":{"deals":[{"id":"d","bidfloor":-1}]}}]})",
       errc::invalid_field, "imp[0].pmp.deals[0].bidfloor: expected a non-negative number"},
      {"negative tmax", R"({"id":"r","tmax":-1,"imp":[{"id":"1","banner":{}}]})",
       errc::invalid_field, "tmax: must not be negative"},
      {"bcat item not a string", R"({"id":"r","bcat":["IAB1",7],"imp":[{"id":"1","banner":{}}]})",
       errc::invalid_field, "bcat[1]: expected a string"},
      {"device.geo.country not a string",
       R"({"id":"r","imp":[{"id":"1","banner":{}}],"device":{"geo":{"country":1}}})",
       errc::invalid_field, "device.geo.country: expected a string"},
      {"eid uid id not a string",
       R"({"id":"r","imp":[{"id":"1","banner":{}}],"user":{"eids":[{"source":"s","uids":[{"id":5}]}]}})",
       errc::invalid_field, "user.eids[0].uids[0].id: expected a string"},
      {"invalid JSON inside an unknown field",
       R"({"id":"r","imp":[{"id":"1","banner":{}}],"ext":{"x":[1,tru]}})", errc::malformed_request,
       "ext: malformed JSON"},
      {"empty body", "", errc::malformed_request, "request"},
      {"only whitespace", "  \n ", errc::malformed_request, "request"},
      {"binary garbage", std::string("\x1f\x8b\x08\x00\xff\xfe\x00\x01{\x80\x81}", 13),
       errc::malformed_request, "request"},
  }));
  CAPTURE(c.name, c.json);
  const auto e = decode_error(c.json);
  CHECK(e.code == c.code);
  CHECK_THAT(e.message, Catch::StartsWith(c.message));
}

TEST_CASE("more than 64 imps are refused", "[openrtb][unit]") {
  auto request_with = [](int imps) {
    std::string json = R"({"id":"r","imp":[)";
    for (int i = 0; i < imps; ++i) {
      if (i > 0) json += ',';
      json += R"({"id":")" + std::to_string(i) + R"(","banner":{"w":1,"h":1}})";
    }
    return json + "]}";
  };
  bid_request r;
  auto ok = decode(request_with(64), r);
  INFO(error_of(ok));
  REQUIRE(ok);
  CHECK(r.imps.size() == 64);

  const auto e = decode_error(request_with(65));
  CHECK(e.code == errc::invalid_field);
  CHECK_THAT(e.message, Catch::StartsWith("imp: more than 64 items"));
}

TEST_CASE("a repeated imp key cannot take a request past 64 imps", "[openrtb][unit]") {
  // max_imps bounds the work per request; each "imp" array is counted on its own, so a request
  // repeating the key gets 2 x 64 imps through.
  std::string imps;
  for (int i = 0; i < 64; ++i) {
    if (i > 0) imps += ',';
    imps += R"({"id":")" + std::to_string(i) + R"(","banner":{"w":1,"h":1}})";
  }
  const std::string json = R"({"id":"r","imp":[)" + imps + R"(],"imp":[)" + imps + "]}";
  bid_request r;
  auto result = decode(json, r);
  CHECK(r.imps.size() <= 64);
  CHECK_FALSE(result);
}

TEST_CASE("whitespace after the request object is not trailing garbage", "[openrtb][unit]") {
  bid_request r;
  auto result = decode(std::string(minimal) + " \r\n\t\n", r);
  INFO(error_of(result));
  REQUIRE(result);
  CHECK(r.id == "r");
}

TEST_CASE("lists longer than their request_limits are refused", "[openrtb][unit]") {
  SECTION("a top-level list") {
    std::string json = R"({"id":"r","imp":[{"id":"1","banner":{}}],"bcat":[)";
    for (int i = 0; i < 4097; ++i) json += std::string(i > 0 ? "," : "") + "\"IAB1\"";
    json += "]}";
    const auto e = decode_error(json);
    CHECK(e.code == errc::invalid_field);
    CHECK_THAT(e.message, Catch::StartsWith("bcat: more than 4096 items"));
  }
  SECTION("deals counted over repeated pmp.deals keys") {
    std::string deals;
    for (int i = 0; i < 40; ++i)
      deals += std::string(i > 0 ? "," : "") + R"({"id":"d)" + std::to_string(i) + "\"}";
    const std::string json = R"({"id":"r","imp":[{"id":"1","banner":{},"pmp":{"deals":[)" + deals +
                             R"(],"deals":[)" + deals + "]}}]}";
    const auto e = decode_error(json);
    CHECK(e.code == errc::invalid_field);
    CHECK_THAT(e.message, Catch::Contains("more than 64 items"));
  }
  SECTION("deal seats") {
    std::string seats;
    for (int i = 0; i < 257; ++i) seats += std::string(i > 0 ? "," : "") + "\"s\"";
    const std::string json =
        R"({"id":"r","imp":[{"id":"1","banner":{},"pmp":{"deals":[{"id":"d","wseat":[)" + seats +
        "]}]}}]}";
    const auto e = decode_error(json);
    CHECK_THAT(e.message, Catch::StartsWith("imp[0].pmp.deals[0].wseat: more than 256 items"));
  }
}

TEST_CASE("a partial null or a bad escape is malformed even where it would be skipped",
          "[openrtb][unit]") {
  const std::string json = GENERATE(
      std::string(R"({"id":"r","tmax":nul,"imp":[{"id":"1","banner":{}}]})"),
      std::string(R"({"id":"r","site":nullx,"imp":[{"id":"1","banner":{}}]})"),
      std::string(R"({"id":"r","zz":"\x","imp":[{"id":"1","banner":{}}]})"),
      std::string(R"({"id":"r","ext":{"a":[1,tru]},"imp":[{"id":"1","banner":{}}]})"),
      std::string(R"({"id":"r","ext":{"a":["ok","b\q"]},"imp":[{"id":"1","banner":{}}]})"),
      std::string(R"({"id":"r","zz":"\u12","imp":[{"id":"1","banner":{}}]})"),
      // A control character unescaped, and bytes that are not UTF-8, in skipped strings.
      std::string("{\"id\":\"r\",\"zz\":\"a\x01"
                  "b\",\"imp\":[{\"id\":\"1\",\"banner\":{}}]}"),
      std::string("{\"id\":\"r\",\"zz\":\"a\tb\",\"imp\":[{\"id\":\"1\",\"banner\":{}}]}"),
      std::string("{\"id\":\"r\",\"zz\":[\"\xc3\x28\"],\"imp\":[{\"id\":\"1\",\"banner\":{}}]}"));
  INFO(json);
  CHECK(decode_error(json).code == errc::malformed_request);
}

TEST_CASE("skipped strings with good escapes are accepted", "[openrtb][unit]") {
  bid_request r;
  const std::string json =
      R"({"id":"r","zz":"a\"b\\c\u00e9\n","ext":{"k":["\/x",{"q":"\ud83d\ude00"}]},)"
      R"("imp":[{"id":"1","banner":{}}]})";
  INFO(json);
  auto ok = decode(json, r);
  INFO(error_of(ok));
  CHECK(ok);
  CHECK(r.id == "r");
}

TEST_CASE("ten-thousand-deep nesting inside ext is refused as malformed", "[openrtb][unit]") {
  const std::string deep_arrays = std::string(10000, '[') + std::string(10000, ']');
  std::string deep_objects;
  for (int i = 0; i < 10000; ++i) deep_objects += "{\"a\":";
  deep_objects += "1" + std::string(10000, '}');
  const std::string nested = GENERATE_COPY(deep_arrays, deep_objects);
  const std::string json =
      R"({"id":"r","imp":[{"id":"1","banner":{},"ext":)" + nested + R"(}],"ext":{}})";
  const auto e = decode_error(json);
  CHECK(e.code == errc::malformed_request);
  CHECK_THAT(e.message, Catch::StartsWith("imp[0].ext"));
  CHECK_THAT(e.message, Catch::Contains("nested too deeply"));

  SECTION("the same decoder then decodes a good request") {
    bid_request r;
    REQUIRE(decode(minimal, r));
    CHECK(r.id == "r");
  }
}

TEST_CASE("nesting up to the depth limit inside ext is accepted", "[openrtb][unit]") {
  // ext is at depth 2 (root object, ext object); 40 more levels stay under max_depth 64.
  const std::string json = R"({"id":"r","imp":[{"id":"1","banner":{}}],"ext":)" +
                           std::string(40, '[') + std::string(40, ']') + "}";
  bid_request r;
  auto result = decode(json, r);
  INFO(error_of(result));
  CHECK(result);
}

TEST_CASE("a decoder reused after an error gives a clean result", "[openrtb][unit]") {
  json_decoder decoder;
  bid_request r;
  REQUIRE(decoder.decode(full_request, r));
  REQUIRE(r.imps.size() == 2);

  // A failure half way through the second imp leaves partial state behind...
  auto failed = decoder.decode(
      R"({"id":"bad","bcat":["X"],"imp":[{"id":"1","banner":{"w":1,"h":1}},{"id":"2","banner":{"w":"x"}}]})",
      r);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message == "imp[1].banner.w: expected an integer");
  auto garbage = decoder.decode(std::string("\xff\xfe\x00", 3), r);
  REQUIRE_FALSE(garbage);

  // ...which the next decode does not see.
  auto ok = decoder.decode(minimal, r);
  INFO(error_of(ok));
  REQUIRE(ok);
  CHECK(r.id == "r");
  REQUIRE(r.imps.size() == 1);
  CHECK(r.imps[0].id == "1");
  CHECK(sizes(r.imps[0].banner.formats) == std::vector<std::pair<int, int>>{{300, 250}});
  CHECK(r.imps[0].banner.battr.empty());
  CHECK_FALSE(r.imps[0].video.present);
  CHECK(r.imps[0].deals.empty());
  CHECK_FALSE(r.imps[0].private_auction);
  CHECK(r.imps[0].bidfloor == 0);
  CHECK(r.bcat.empty());
  CHECK(r.cur.empty());
  CHECK(r.eids.empty());
  CHECK(r.tmax_ms == 0);
  CHECK(r.auction_type == 2);
  CHECK_FALSE(r.test);
  CHECK(r.inventory == inventory_kind::unknown);
  CHECK(r.domain.empty());
  CHECK(r.content_cat.empty());
  CHECK(r.country.empty());
  CHECK(r.consent.empty());
  CHECK_FALSE(r.gdpr.has_value());
  CHECK(r.us_privacy.empty());
  CHECK(r.user_id.empty());
  CHECK(r.buyeruid.empty());

  SECTION("and a larger request after a small one decodes fully") {
    REQUIRE(decoder.decode(full_request, r));
    CHECK(r.imps.size() == 2);
    CHECK(r.eids.size() == 4);
  }
}

TEST_CASE("every corpus request decodes or fails as invalid only where marked DEVIATION",
          "[openrtb][unit]") {
  namespace fs = std::filesystem;
  const auto corpus = bidder::test::corpus_dir();
  if (!corpus) return bidder::test::skip("decodes every corpus request");
  const fs::path dir = *corpus / "openrtb";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 100);

  json_decoder decoder;  // one decoder across the corpus, as a worker thread has
  bid_request r;
  int decoded = 0, deviations = 0;
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    CAPTURE(name);
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    auto result = decoder.decode(text.str(), r);
    if (result) {
      ++decoded;
      CHECK_FALSE(r.id.empty());
      CHECK_FALSE(r.imps.empty());
      continue;
    }
    INFO(result.error().message);
    const bool deviation = name.find("DEVIATION") != std::string::npos;
    CHECK(deviation);
    CHECK((result.error().code == errc::invalid_field ||
           result.error().code == errc::malformed_request));
    ++deviations;
  }
  CHECK(decoded + deviations == static_cast<int>(files.size()));
  CHECK(decoded > 150);
}

TEST_CASE("geo.utcoffset: the device's, else the user's; implausible or null is absent",
          "[openrtb][unit]") {
  bid_request r;
  auto with_geo = [&](const std::string& device_geo, const std::string& user_geo) {
    return decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],"device":{"geo":)" +
                      device_geo + R"(},"user":{"geo":)" + user_geo + "}}",
                  r);
  };
  REQUIRE(with_geo(R"({"utcoffset":-420})", R"({"utcoffset":60})"));
  CHECK(r.utcoffset_minutes == -420);
  REQUIRE(with_geo(R"({"country":"USA"})", R"({"utcoffset":60})"));
  CHECK(r.utcoffset_minutes == 60);
  REQUIRE(with_geo(R"({"utcoffset":5000})", "{}"));
  CHECK_FALSE(r.utcoffset_minutes);
  REQUIRE(with_geo(R"({"utcoffset":null})", "{}"));
  CHECK_FALSE(r.utcoffset_minutes);
  CHECK_FALSE(with_geo(R"({"utcoffset":"+01:00"})", "{}"));
}

TEST_CASE("a key written with escapes reads as its unescaped name", "[openrtb][unit]") {
  bid_request r;
  REQUIRE(error_of(decode(
              R"({"\u0069d": "esc", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
                  "user": {"bu\u0079eruid": "b-1", "i\"d": "not the id"}})",
              r)) == "");
  CHECK(r.id == "esc");
  CHECK(r.buyeruid == "b-1");
  CHECK(r.user_id.empty());
}
