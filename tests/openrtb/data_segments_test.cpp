// Third-party data in requests: user.data and site/app/dooh.content.data, decoded alike from
// JSON and protobuf into bid_request::data_segments (issue 20).
#include <catch2/catch.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "bidder/openrtb/json_decoder.hpp"
#include "bidder/openrtb/proto_codec.hpp"
#include "openrtb/openrtb.pb.h"

namespace {

using bidder::openrtb::bid_request;
using bidder::openrtb::data_origin;

// (provider id, provider name, segtax, origin, segment id) for each decoded segment.
using row = std::tuple<std::string, std::string, int, data_origin, std::string>;

std::vector<row> rows(const bid_request& r) {
  std::vector<row> out;
  for (const auto& s : r.data_segments) {
    out.emplace_back(std::string(s.provider_id), std::string(s.provider_name), s.segtax, s.origin,
                     std::string(s.id));
  }
  return out;
}

std::string error_of(const bidder::result<void>& r) {
  return r ? std::string() : r.error().message;
}

constexpr auto user = data_origin::user;
constexpr auto content = data_origin::content;

}  // namespace

TEST_CASE("json: user.data and site.content.data decode with provider, segtax and origin",
          "[openrtb][unit]") {
  // The provider's ext comes after its segments in the second object: it still applies.
  const std::string json = R"({"id": "r", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
    "site": {"domain": "news.example", "content": {"title": "t", "data": [
        {"name": "ctx.example", "ext": {"segtax": 7}, "segment": [{"id": "483"}]}]}},
    "user": {"id": "u", "data": [
        {"id": "9", "name": "Acme-Data.com", "ext": {"segtax": 4, "other": [1]},
         "segment": [{"id": "101", "value": "x"}, {"id": "102", "ext": {}}]},
        {"segment": [{"name": "only-a-name"}, {}, {"value": "no id"}], "name": "p2",
         "ext": {"segtax": 600}},
        {"id": "empty"}]}})";
  bidder::openrtb::json_decoder decoder;
  bid_request r;
  REQUIRE(error_of(decoder.decode(json, r)) == "");
  CHECK(rows(r) == std::vector<row>{{"", "ctx.example", 7, content, "483"},
                                    {"9", "Acme-Data.com", 4, user, "101"},
                                    {"9", "Acme-Data.com", 4, user, "102"},
                                    {"", "p2", 600, user, "only-a-name"}});
  // The decoder's next request starts empty.
  REQUIRE(decoder.decode(R"({"id": "r", "imp": [{"id": "1", "banner": {"w": 1, "h": 1}}]})", r));
  CHECK(r.data_segments.empty());
}

TEST_CASE("json: only the first inventory object's content data is read", "[openrtb][unit]") {
  const std::string json = R"({"id": "r", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
    "app": {"bundle": "com.a", "content": {"data": [{"id": "a", "segment": [{"id": "1"}]}]}},
    "site": {"domain": "x", "content": {"data": [{"id": "s", "segment": [{"id": "2"}]}]}}})";
  bidder::openrtb::json_decoder decoder;
  bid_request r;
  REQUIRE(error_of(decoder.decode(json, r)) == "");
  CHECK(rows(r) == std::vector<row>{{"a", "", 0, content, "1"}});
}

TEST_CASE("json: hostile data shapes are refused with their path; too many segments are cut",
          "[openrtb][unit]") {
  bidder::openrtb::json_decoder decoder;
  bid_request r;
  auto request_with_user = [](const std::string& user) {
    return R"({"id": "r", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}], "user": )" + user +
           "}";
  };
  SECTION("wrong types name the field") {
    const auto [user_json, message] = GENERATE(table<std::string, std::string>({
        {R"({"data": {"id": "x"}})", "user.data: expected an array"},
        {R"({"data": [{"segment": {"id": "1"}}]})", "user.data[0].segment: expected an array"},
        {R"({"data": [{"segment": [{"id": 7}]}]})",
         "user.data[0].segment[0].id: expected a string"},
        {R"({"data": [7]})", "user.data[0]: expected an object"},
    }));
    CAPTURE(user_json);
    auto result = decoder.decode(request_with_user(user_json), r);
    REQUIRE_FALSE(result);
    CHECK(result.error().message == message);
  }
  SECTION("a segtax that is not an integer drops its object's segments, not the request") {
    const std::string segtax = GENERATE(R"("4")", "1.5", "[4]", R"({"a": 1})", "true");
    CAPTURE(segtax);
    REQUIRE(error_of(decoder.decode(
                request_with_user(
                    R"({"data": [{"id": "p", "segment": [{"id": "1"}], "ext": {"segtax": )" +
                    segtax + R"(}}, {"id": "q", "segment": [{"id": "2"}]}]})"),
                r)) == "");
    CHECK(rows(r) == std::vector<row>{{"q", "", 0, user, "2"}});
  }
  SECTION("null data, segment and ids are absent") {
    REQUIRE(error_of(decoder.decode(
                request_with_user(
                    R"({"data": [{"id": null, "segment": null}, {"segment": [{"id": null}]}]})"),
                r)) == "");
    CHECK(r.data_segments.empty());
    REQUIRE(decoder.decode(request_with_user(R"({"data": null})"), r));
  }
  SECTION("segments past the limit are skipped, the request still decodes") {
    bidder::openrtb::decode_limits limits;
    limits.max_data_segments = 3;
    bidder::openrtb::json_decoder small(limits);
    std::string segments;
    for (int i = 0; i < 10; ++i)
      segments += (i ? "," : "") + ("{\"id\": \"" + std::to_string(i) + "\"}");
    REQUIRE(
        error_of(small.decode(request_with_user(R"({"data": [{"id": "p", "segment": [)" + segments +
                                                R"(]}, {"id": "q", "segment": [{"id": "x"}]}]})"),
                              r)) == "");
    CHECK(rows(r) == std::vector<row>{{"p", "", 0, user, "0"},
                                      {"p", "", 0, user, "1"},
                                      {"p", "", 0, user, "2"}});
  }
}

TEST_CASE("protobuf: user.data and content.data decode as from JSON, ext.segtax as field 100",
          "[openrtb][unit]") {
  bidder::openrtb::BidRequest pb;
  pb.set_id("r");
  auto* imp = pb.add_imp();
  imp->set_id("1");
  imp->mutable_banner()->set_w(300);
  imp->mutable_banner()->set_h(250);
  auto* content_data = pb.mutable_app()->mutable_content()->add_data();
  content_data->set_name("ctx.example");
  content_data->mutable_ext()->set_segtax(7);
  content_data->add_segment()->set_id("483");
  auto* data = pb.mutable_user()->add_data();
  data->set_id("9");
  data->set_name("Acme-Data.com");
  data->mutable_ext()->set_segtax(4);
  data->add_segment()->set_id("101");
  data->add_segment()->set_name("named");
  data->add_segment()->set_value("no id");
  std::string bytes;
  REQUIRE(pb.SerializeToString(&bytes));

  bidder::openrtb::proto_decoder decoder;
  bid_request r;
  REQUIRE(error_of(decoder.decode(bytes, r)) == "");
  CHECK(rows(r) == std::vector<row>{{"9", "Acme-Data.com", 4, user, "101"},
                                    {"9", "Acme-Data.com", 4, user, "named"},
                                    {"", "ctx.example", 7, content, "483"}});
}
