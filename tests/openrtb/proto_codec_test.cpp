#include "bidder/openrtb/proto_codec.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "openrtb/openrtb.pb.h"

namespace {

using bidder::errc;
using bidder::openrtb::bid_request;
using bidder::openrtb::bid_response;
using bidder::openrtb::inventory_kind;
using bidder::openrtb::proto_decoder;
using bidder::openrtb::user_id_kind;

using pb_request = bidder::openrtb::BidRequest;
using pb_response = bidder::openrtb::BidResponse;

std::vector<std::string> strings(const bidder::reuse_vector<std::string_view>& v) {
  return {v.begin(), v.end()};
}

/// The error message of a failed result, or "" on success (Catch2 shows it when a check fails).
std::string error_of(const bidder::result<void>& r) {
  return r ? std::string() : r.error().message;
}

std::vector<int> ints(const bidder::reuse_vector<std::int32_t>& v) { return {v.begin(), v.end()}; }

/// A request with one banner+video impression carrying deals, on a site, with eids and regs.
pb_request full_request() {
  pb_request r;
  r.set_id("req-1");
  r.set_tmax(120);
  r.set_test(true);
  r.set_allimps(true);
  r.set_at(1);
  r.add_cur("USD");
  r.add_cur("EUR");
  r.add_bcat("IAB25");
  r.add_badv("bad.example");
  r.add_bapp("com.bad.app");
  r.add_wseat("seat-a");
  r.add_bseat("seat-b");

  auto* imp = r.add_imp();
  imp->set_id("1");
  imp->set_tagid("top-slot");
  imp->set_bidfloor(0.75);
  imp->set_bidfloorcur("EUR");
  imp->set_instl(true);
  auto* banner = imp->mutable_banner();
  banner->set_w(300);
  banner->set_h(250);
  auto* format = banner->add_format();
  format->set_w(728);
  format->set_h(90);
  banner->add_format()->set_wratio(16);  // a flex size without w/h: not a fixed format
  banner->add_battr(3);
  banner->add_battr(9);
  auto* video = imp->mutable_video();
  video->add_mimes("video/mp4");
  video->add_mimes("video/webm");
  video->set_minduration(5);
  video->set_maxduration(30);
  video->set_w(640);
  video->set_h(360);
  video->add_battr(16);
  auto* pmp = imp->mutable_pmp();
  pmp->set_private_auction(true);
  auto* deal = pmp->add_deals();
  deal->set_id("deal-1");
  deal->set_bidfloor(2.5);
  deal->set_bidfloorcur("GBP");
  deal->add_wseat("seat-a");
  deal->add_wseat("seat-c");
  pmp->add_deals()->set_bidfloor(9);  // no id: cannot be bid on, skipped
  pmp->add_deals()->set_id("deal-2");

  auto* site = r.mutable_site();
  site->set_domain("news.example");
  site->set_page("https://news.example/a");
  site->add_cat("IAB12");
  site->add_sectioncat("IAB12-1");
  site->add_pagecat("IAB12-2");
  site->mutable_publisher()->set_id("pub-9");

  auto* device = r.mutable_device();
  device->set_ua("Mozilla/5.0");
  device->set_ipv6("2001:db8::1");
  device->set_os("iOS");
  device->set_ifa("ifa-1");
  device->set_devicetype(4);
  device->mutable_geo()->set_lat(1);  // a device geo without country/region/zip

  auto* user = r.mutable_user();
  user->set_id("u-1");
  user->set_buyeruid("b-1");
  user->set_consent("CONSENT");
  user->mutable_geo()->set_country("FRA");
  user->mutable_geo()->set_region("IDF");
  user->mutable_geo()->set_zip("75001");
  auto* eid = user->add_eids();
  eid->set_source("uidapi.com");
  eid->add_uids()->set_id("uid2-a");
  eid->add_uids()->set_id("uid2-b");
  auto* eid2 = user->add_eids();
  eid2->set_source("id5-sync.com");
  eid2->add_uids()->set_id("id5-a");

  auto* regs = r.mutable_regs();
  regs->set_coppa(true);
  regs->set_gdpr(true);
  regs->set_us_privacy("1YNN");
  return r;
}

std::string encode(const pb_request& r) {
  std::string bytes;
  REQUIRE(r.SerializeToString(&bytes));
  return bytes;
}

}  // namespace

TEST_CASE("A protobuf request with banner, video, deals, eids and regs decodes into the view",
          "[openrtb][unit]") {
  const std::string bytes = encode(full_request());
  proto_decoder decoder;
  bid_request req;
  REQUIRE(error_of(decoder.decode(bytes, req)) == "");

  CHECK(req.id == "req-1");
  CHECK(req.tmax_ms == 120);
  CHECK(req.test);
  CHECK(req.allimps);
  CHECK(req.auction_type == 1);
  CHECK(strings(req.cur) == std::vector<std::string>{"USD", "EUR"});
  CHECK(strings(req.bcat) == std::vector<std::string>{"IAB25"});
  CHECK(strings(req.badv) == std::vector<std::string>{"bad.example"});
  CHECK(strings(req.bapp) == std::vector<std::string>{"com.bad.app"});
  CHECK(strings(req.wseat) == std::vector<std::string>{"seat-a"});
  CHECK(strings(req.bseat) == std::vector<std::string>{"seat-b"});

  REQUIRE(req.imps.size() == 1);
  const auto& imp = req.imps[0];
  CHECK(imp.id == "1");
  CHECK(imp.tagid == "top-slot");
  CHECK(imp.bidfloor == 0.75);
  CHECK(imp.bidfloorcur == "EUR");
  CHECK(imp.instl);
  CHECK(imp.banner.present);
  REQUIRE(imp.banner.formats.size() == 2);
  CHECK(imp.banner.formats[0].w == 300);
  CHECK(imp.banner.formats[0].h == 250);
  CHECK(imp.banner.formats[1].w == 728);
  CHECK(imp.banner.formats[1].h == 90);
  CHECK(ints(imp.banner.battr) == std::vector<int>{3, 9});
  CHECK(imp.video.present);
  CHECK(strings(imp.video.mimes) == std::vector<std::string>{"video/mp4", "video/webm"});
  CHECK(imp.video.minduration == 5);
  CHECK(imp.video.maxduration == 30);
  CHECK(imp.video.w == 640);
  CHECK(imp.video.h == 360);
  CHECK(ints(imp.video.battr) == std::vector<int>{16});
  CHECK_FALSE(imp.audio.present);
  CHECK_FALSE(imp.native.present);
  CHECK(imp.private_auction);
  REQUIRE(imp.deals.size() == 2);
  CHECK(imp.deals[0].id == "deal-1");
  CHECK(imp.deals[0].bidfloor == 2.5);
  CHECK(imp.deals[0].bidfloorcur == "GBP");
  CHECK(strings(imp.deals[0].wseat) == std::vector<std::string>{"seat-a", "seat-c"});
  CHECK(imp.deals[1].id == "deal-2");
  CHECK(imp.deals[1].bidfloorcur.empty());
  CHECK(imp.deals[1].wseat.empty());

  CHECK(req.inventory == inventory_kind::site);
  CHECK(req.domain == "news.example");
  CHECK(req.page == "https://news.example/a");
  CHECK(req.publisher_id == "pub-9");
  CHECK(strings(req.content_cat) == std::vector<std::string>{"IAB12", "IAB12-1", "IAB12-2"});

  CHECK(req.ua == "Mozilla/5.0");
  CHECK(req.ip == "2001:db8::1");
  CHECK(req.os == "iOS");
  CHECK(req.ifa == "ifa-1");
  CHECK(req.devicetype == 4);
  CHECK(req.country == "FRA");
  CHECK(req.region == "IDF");
  CHECK(req.zip == "75001");

  CHECK(req.user_id == "u-1");
  CHECK(req.buyeruid == "b-1");
  CHECK(req.consent == "CONSENT");
  REQUIRE(req.eids.size() == 3);
  CHECK(req.eids[0].kind == user_id_kind::eid);
  CHECK(req.eids[0].source == "uidapi.com");
  CHECK(req.eids[0].id == "uid2-a");
  CHECK(req.eids[1].source == "uidapi.com");
  CHECK(req.eids[1].id == "uid2-b");
  CHECK(req.eids[2].source == "id5-sync.com");
  CHECK(req.eids[2].id == "id5-a");

  CHECK(req.coppa);
  REQUIRE(req.gdpr.has_value());
  CHECK(*req.gdpr);
  CHECK(req.us_privacy == "1YNN");
}

TEST_CASE("An app request takes its location from the device and leaves absent fields at defaults",
          "[openrtb][unit]") {
  pb_request r;
  r.set_id("req-2");
  auto* imp = r.add_imp();
  imp->set_id("a");
  imp->mutable_native()->set_request("{}");
  imp->mutable_native()->add_battr(1);
  auto* audio = r.add_imp();
  audio->set_id("b");
  audio->mutable_audio()->add_mimes("audio/mp4");
  audio->mutable_audio()->set_maxduration(15);
  auto* app = r.mutable_app();
  app->set_bundle("com.example.game");
  app->set_domain("game.example");
  app->add_cat("IAB9-30");
  app->mutable_publisher()->set_id("pub-1");
  r.mutable_device()->set_ip("192.0.2.1");
  r.mutable_device()->set_ipv6("2001:db8::2");
  r.mutable_device()->mutable_geo()->set_country("USA");
  r.mutable_user()->mutable_geo()->set_country("CAN");
  r.mutable_user()->mutable_geo()->set_zip("H2X");
  r.mutable_regs()->set_us_privacy("1---");

  proto_decoder decoder;
  bid_request req;
  REQUIRE(error_of(decoder.decode(encode(r), req)) == "");
  REQUIRE(req.imps.size() == 2);
  CHECK(req.imps[0].native.present);
  CHECK(ints(req.imps[0].native.battr) == std::vector<int>{1});
  CHECK(req.imps[1].audio.present);
  CHECK(strings(req.imps[1].audio.mimes) == std::vector<std::string>{"audio/mp4"});
  CHECK(req.imps[1].audio.maxduration == 15);
  CHECK(req.imps[1].bidfloorcur.empty());
  CHECK(req.inventory == inventory_kind::app);
  CHECK(req.bundle == "com.example.game");
  CHECK(req.domain == "game.example");
  CHECK(req.publisher_id == "pub-1");
  CHECK(strings(req.content_cat) == std::vector<std::string>{"IAB9-30"});
  CHECK(req.ip == "192.0.2.1");
  CHECK(req.country == "USA");
  CHECK(req.zip.empty());  // the device geo is used whole, not mixed with the user's
  CHECK(req.auction_type == 2);
  CHECK(req.tmax_ms == 0);
  CHECK_FALSE(req.gdpr.has_value());
  CHECK_FALSE(req.coppa);
  CHECK(req.us_privacy == "1---");
}

TEST_CASE("A decoder reused for a smaller request holds only the new request", "[openrtb][unit]") {
  proto_decoder decoder;
  bid_request req;
  REQUIRE(error_of(decoder.decode(encode(full_request()), req)) == "");

  pb_request small;
  small.set_id("small");
  auto* imp = small.add_imp();
  imp->set_id("x");
  imp->mutable_banner()->set_w(320);
  imp->mutable_banner()->set_h(50);
  REQUIRE(error_of(decoder.decode(encode(small), req)) == "");
  CHECK(req.id == "small");
  REQUIRE(req.imps.size() == 1);
  CHECK(req.imps[0].id == "x");
  REQUIRE(req.imps[0].banner.formats.size() == 1);
  CHECK(req.imps[0].banner.formats[0].w == 320);
  CHECK_FALSE(req.imps[0].video.present);
  CHECK(req.imps[0].deals.empty());
  CHECK(req.eids.empty());
  CHECK(req.cur.empty());
  CHECK(req.inventory == inventory_kind::unknown);
  CHECK_FALSE(req.gdpr.has_value());
}

TEST_CASE("Bytes that are not a protobuf BidRequest are rejected as malformed", "[openrtb][unit]") {
  const std::string full = encode(full_request());
  const std::array<std::string, 4> bodies = {
      std::string("\xff\xff\xff", 3),            // a tag varint that never ends
      std::string("not protobuf"),               // 'n' is a tag with wire type 6, which is invalid
      std::string("{\"id\":\"1\",\"imp\":[]}"),  // JSON sent to the protobuf endpoint
      full.substr(0, full.size() - 3),           // truncated inside the last field
  };
  proto_decoder decoder;
  bid_request req;
  for (const std::string& body : bodies) {
    auto r = decoder.decode(body, req);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::malformed_request);
  }
  // The decoder still works after errors.
  CHECK(error_of(decoder.decode(full, req)) == "");
}

TEST_CASE("A request without id or impressions, or with an incomplete impression, is rejected",
          "[openrtb][unit]") {
  proto_decoder decoder;
  bid_request req;

  SECTION("no imp") {
    pb_request r;
    r.set_id("req");
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::missing_field);
    CHECK(res.error().message == "imp: missing");
  }
  SECTION("no id") {
    pb_request r = full_request();
    r.clear_id();
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::missing_field);
    CHECK(res.error().message == "id: missing");
  }
  SECTION("an empty body") {
    auto res = decoder.decode("", req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::missing_field);
  }
  SECTION("an imp without id") {
    pb_request r = full_request();
    auto* imp = r.add_imp();
    imp->mutable_banner();
    imp = r.add_imp();
    imp->mutable_banner();
    r.mutable_imp(1)->set_id("2");
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::missing_field);
    CHECK(res.error().message == "imp[2].id: missing");
  }
  SECTION("two imps with one id") {
    pb_request r = full_request();
    auto* imp = r.add_imp();
    imp->set_id("1");  // full_request's imp has it
    imp->mutable_banner();
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::invalid_field);
    CHECK(res.error().message == "imp[1].id: repeats an earlier imp's id");
  }
  SECTION("an imp without any media") {
    pb_request r = full_request();
    r.add_imp()->set_id("bare");
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::missing_field);
    CHECK(res.error().message.rfind("imp[1]:", 0) == 0);
  }
  SECTION("more than 64 impressions") {
    pb_request r;
    r.set_id("req");
    for (int i = 0; i < 65; ++i) {
      auto* imp = r.add_imp();
      imp->set_id(std::to_string(i));
      imp->mutable_banner();
    }
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::invalid_field);
    CHECK(res.error().message == "imp: more than 64 impressions");
  }
  SECTION("a negative floor") {
    pb_request r = full_request();
    r.mutable_imp(0)->set_bidfloor(-1);
    auto res = decoder.decode(encode(r), req);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == errc::invalid_field);
    CHECK(res.error().message.rfind("imp[0].bidfloor:", 0) == 0);
  }
}

TEST_CASE("A bid response encodes into a protobuf BidResponse with every bid field",
          "[openrtb][unit]") {
  const std::array<std::string, 2> adomain = {"brand.example", "brand.example.fr"};
  const std::array<std::string, 1> cat = {"IAB2"};

  bid_response response;
  response.id = "req-1";
  response.cur = "EUR";
  response.seat = "our-seat";
  auto& b = response.bids.emplace();
  b.id = "bid-1";
  b.imp_id = "1";
  b.price = 1.25;
  b.adid = "ad-7";
  b.crid = "cr-7";
  b.cid = "camp-7";
  b.adm = "<div>ad</div>";
  b.dealid = "deal-1";
  b.bundle = "com.brand.app";
  b.nurl = "https://win.example/n?p=${AUCTION_PRICE}";
  b.burl = "https://win.example/b";
  b.lurl = "https://win.example/l";
  b.adomain = adomain;
  b.cat = cat;
  b.w = 300;
  b.h = 250;
  b.mtype = bidder::openrtb::markup_type::video;
  auto& b2 = response.bids.emplace();
  b2.id = "bid-2";
  b2.imp_id = "2";
  b2.price = 0.5;

  std::string bytes = "stale";
  REQUIRE(bidder::openrtb::write_proto_response(response, bytes));

  pb_response parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.id() == "req-1");
  CHECK(parsed.cur() == "EUR");
  REQUIRE(parsed.seatbid_size() == 1);
  const auto& seatbid = parsed.seatbid(0);
  CHECK(seatbid.seat() == "our-seat");
  REQUIRE(seatbid.bid_size() == 2);
  const auto& pb = seatbid.bid(0);
  CHECK(pb.id() == "bid-1");
  CHECK(pb.impid() == "1");
  CHECK(pb.price() == 1.25);
  CHECK(pb.adid() == "ad-7");
  CHECK(pb.crid() == "cr-7");
  CHECK(pb.cid() == "camp-7");
  CHECK(pb.adm() == "<div>ad</div>");
  CHECK(pb.dealid() == "deal-1");
  CHECK(pb.bundle() == "com.brand.app");
  CHECK(pb.nurl() == "https://win.example/n?p=${AUCTION_PRICE}");
  CHECK(pb.burl() == "https://win.example/b");
  CHECK(pb.lurl() == "https://win.example/l");
  REQUIRE(pb.adomain_size() == 2);
  CHECK(pb.adomain(0) == "brand.example");
  CHECK(pb.adomain(1) == "brand.example.fr");
  REQUIRE(pb.cat_size() == 1);
  CHECK(pb.cat(0) == "IAB2");
  CHECK(pb.w() == 300);
  CHECK(pb.h() == 250);
  CHECK(pb.mtype() == 2);
  const auto& pb2 = seatbid.bid(1);
  CHECK(pb2.id() == "bid-2");
  CHECK(pb2.price() == 0.5);
  CHECK_FALSE(pb2.has_adm());
  CHECK_FALSE(pb2.has_w());
  CHECK(pb2.mtype() == 1);
  // The same bytes as protobuf's own serializer would produce for this message.
  CHECK(parsed.SerializeAsString() == bytes);
}

TEST_CASE("A response without bids or seat encodes only what it has", "[openrtb][unit]") {
  bid_response response;
  response.id = "req-9";
  std::string bytes;
  REQUIRE(bidder::openrtb::write_proto_response(response, bytes));
  pb_response parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.id() == "req-9");
  CHECK(parsed.seatbid_size() == 0);
  CHECK_FALSE(parsed.has_cur());

  auto& b = response.bids.emplace();
  b.id = "b";
  b.imp_id = "1";
  b.price = 3;
  REQUIRE(bidder::openrtb::write_proto_response(response, bytes));
  REQUIRE(parsed.ParseFromString(bytes));
  REQUIRE(parsed.seatbid_size() == 1);
  CHECK_FALSE(parsed.seatbid(0).has_seat());
  CHECK(parsed.seatbid(0).bid(0).price() == 3);
}

TEST_CASE("A protobuf request's utcoffset comes from the device's geo, else the user's",
          "[openrtb][unit]") {
  pb_request r = full_request();
  proto_decoder decoder;
  bid_request req;
  SECTION("absent") {
    REQUIRE(error_of(decoder.decode(encode(r), req)) == "");
    CHECK_FALSE(req.utcoffset_minutes);
  }
  SECTION("the user's home offset when the device has none") {
    r.mutable_user()->mutable_geo()->set_utcoffset(-300);
    REQUIRE(error_of(decoder.decode(encode(r), req)) == "");
    CHECK(req.utcoffset_minutes == -300);
  }
  SECTION("the device's wins") {
    r.mutable_user()->mutable_geo()->set_utcoffset(-300);
    r.mutable_device()->mutable_geo()->set_utcoffset(60);
    REQUIRE(error_of(decoder.decode(encode(r), req)) == "");
    CHECK(req.utcoffset_minutes == 60);
  }
  SECTION("an offset no time zone has is ignored") {
    r.mutable_device()->mutable_geo()->set_utcoffset(100000);
    REQUIRE(error_of(decoder.decode(encode(r), req)) == "");
    CHECK_FALSE(req.utcoffset_minutes);
  }
}
