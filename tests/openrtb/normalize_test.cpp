// The canonical forms every decoder gives a request (bidder/openrtb/normalize.hpp), checked
// through both decoders: domains lower-cased, the site's domain from its page, the app's bundle
// from its store URL, currency and category codes upper-cased, and no device id under lmt/dnt.
#include "bidder/openrtb/normalize.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bidder/openrtb/json_decoder.hpp"
#include "bidder/openrtb/proto_codec.hpp"
#include "openrtb/openrtb.pb.h"

namespace {

using bidder::openrtb::bid_request;
using bidder::openrtb::host_of_url;
using bidder::openrtb::json_decoder;
using bidder::openrtb::proto_decoder;

std::vector<std::string> strings(const bidder::reuse_vector<std::string_view>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("the host of a URL", "[openrtb][normalize]") {
  CHECK(host_of_url("https://www.example.com/a/b?c=d") == "www.example.com");
  CHECK(host_of_url("http://user:pw@Shop.Example.com:8080/x") == "Shop.Example.com");
  CHECK(host_of_url("//cdn.example.com/x") == "cdn.example.com");
  CHECK(host_of_url("https://example.com") == "example.com");
  CHECK(host_of_url("https://example.com?q=a://b") == "example.com");
  CHECK(host_of_url("https://[2001:db8::1]/x").empty());  // an IP literal has no domain
  CHECK(host_of_url("/relative/path").empty());
  CHECK(host_of_url("example.com/page").empty());  // no scheme: not a URL we can read
  CHECK(host_of_url("").empty());
}

TEST_CASE("the bundle of an app store URL", "[openrtb][normalize]") {
  using bidder::openrtb::bundle_of_store_url;
  CHECK(
      bundle_of_store_url("https://play.google.com/store/apps/details?id=com.example.game&hl=en") ==
      "com.example.game");
  CHECK(bundle_of_store_url("https://play.google.com/store/apps/details?hl=en&id=com.x.y") ==
        "com.x.y");
  CHECK(bundle_of_store_url("https://apps.apple.com/us/app/some-game/id284882215?mt=8") ==
        "284882215");
  CHECK(bundle_of_store_url("https://itunes.apple.com/app/id12345") == "12345");
  CHECK(bundle_of_store_url("https://apps.apple.com/us/app/some-game/idabc").empty());
  CHECK(bundle_of_store_url("https://example.com/store?id=com.x").empty());  // unknown store
  CHECK(bundle_of_store_url("").empty());
}

TEST_CASE("JSON requests get canonical domains, codes and device ids", "[openrtb][normalize]") {
  json_decoder decoder;
  bid_request r;
  SECTION("domains compare case-insensitively, without the root dot") {
    REQUIRE(decoder.decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "site":{"domain":"News.Example.COM.","page":"https://other.example/"},
        "badv":["Brand.COM","plain.com","Trailing.Dot."]})",
                           r));
    CHECK(r.domain == "news.example.com");
    CHECK(strings(r.badv) == std::vector<std::string>{"brand.com", "plain.com", "trailing.dot"});
  }
  SECTION("without site.domain, the page's host is the domain") {
    REQUIRE(decoder.decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "site":{"page":"https://WWW.Blocked.Example/article?id=7"}})",
                           r));
    CHECK(r.domain == "www.blocked.example");
  }
  SECTION("without app.bundle, the store URL's id is the bundle") {
    REQUIRE(decoder.decode(R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "app":{"storeurl":"https://play.google.com/store/apps/details?id=com.example.game"}})",
                           r));
    CHECK(r.bundle == "com.example.game");
  }
  SECTION("currency and category codes are upper-case") {
    REQUIRE(decoder.decode(R"({"id":"r","cur":["eur","Usd"],"bcat":["iab2-1","IAB3"],
        "site":{"cat":["iab1"]},
        "imp":[{"id":"1","banner":{"w":1,"h":1},"bidfloor":1,"bidfloorcur":"eur",
          "pmp":{"deals":[{"id":"d","bidfloor":2,"bidfloorcur":"gbp"}]}}]})",
                           r));
    CHECK(strings(r.cur) == std::vector<std::string>{"EUR", "USD"});
    CHECK(strings(r.bcat) == std::vector<std::string>{"IAB2-1", "IAB3"});
    CHECK(strings(r.content_cat) == std::vector<std::string>{"IAB1"});
    CHECK(r.imps[0].bidfloorcur == "EUR");
    REQUIRE(r.imps[0].deals.size() == 1);
    CHECK(r.imps[0].deals[0].bidfloorcur == "GBP");
  }
  SECTION("lmt, dnt and an all-zero ifa leave no device id") {
    const std::string head = R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],"device":)";
    REQUIRE(decoder.decode(head + R"({"ifa":"aaaa-bbbb"}})", r));
    CHECK(r.ifa == "aaaa-bbbb");
    REQUIRE(decoder.decode(head + R"({"ifa":"aaaa-bbbb","lmt":1}})", r));
    CHECK(r.lmt);
    CHECK(r.ifa.empty());
    REQUIRE(decoder.decode(head + R"({"ifa":"aaaa-bbbb","dnt":1}})", r));
    CHECK(r.ifa.empty());
    REQUIRE(decoder.decode(head + R"({"ifa":"00000000-0000-0000-0000-000000000000"}})", r));
    CHECK(r.ifa.empty());
  }
  SECTION("values already canonical are not copied") {
    const std::string json = R"({"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],
        "site":{"domain":"news.example.com"},"cur":["USD"]})";
    REQUIRE(decoder.decode(json, r));
    CHECK(r.domain == "news.example.com");
    CHECK(r.cur[0] == "USD");
  }
}

TEST_CASE("protobuf requests get the same canonical forms", "[openrtb][normalize]") {
  bidder::openrtb::BidRequest pb;
  pb.set_id("r");
  auto* imp = pb.add_imp();
  imp->set_id("1");
  imp->mutable_banner()->set_w(1);
  imp->mutable_banner()->set_h(1);
  imp->set_bidfloorcur("eur");
  pb.add_cur("eur");
  pb.add_badv("Brand.COM");
  pb.add_bcat("iab2-1");
  pb.mutable_site()->set_page("https://Shop.Example.com/x");
  pb.mutable_device()->set_ifa("aaaa");
  pb.mutable_device()->set_lmt(true);
  std::string bytes;
  REQUIRE(pb.SerializeToString(&bytes));
  proto_decoder decoder;
  bid_request r;
  REQUIRE(decoder.decode(bytes, r));
  CHECK(r.domain == "shop.example.com");
  CHECK(strings(r.badv) == std::vector<std::string>{"brand.com"});
  CHECK(strings(r.bcat) == std::vector<std::string>{"IAB2-1"});
  CHECK(strings(r.cur) == std::vector<std::string>{"EUR"});
  CHECK(r.imps[0].bidfloorcur == "EUR");
  CHECK(r.ifa.empty());

  bidder::openrtb::BidRequest app;
  app.set_id("a");
  auto* app_imp = app.add_imp();
  app_imp->set_id("1");
  app_imp->mutable_banner()->set_w(1);
  app_imp->mutable_banner()->set_h(1);
  app.mutable_app()->set_storeurl("https://apps.apple.com/us/app/x/id284882215");
  REQUIRE(app.SerializeToString(&bytes));
  REQUIRE(decoder.decode(bytes, r));
  CHECK(r.bundle == "284882215");
}
