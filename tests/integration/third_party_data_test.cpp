// Third-party data end to end through the real service (issue 20): a JSON and a protobuf bid
// request carrying a provider's segments in user.data reach the campaign that targets them,
// the event log keeps the segment with the bid, and the privacy rules hold.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "openrtb/openrtb.pb.h"
#include "tests/integration/service_harness.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::test::call;

std::string write_config(const fs::path& dir) {
  std::ofstream(dir / "notice.key") << "0123456789abcdef0123456789abcdef-third-party\n";
  const fs::path config = dir / "campaigns.json";
  auto campaign = [](const std::string& id, double cpm, const std::string& targeting) {
    return R"({"id": ")" + id + R"(", "status": "ACTIVE", "advertiser_domains": ["shop.example"],
      "max_cpm": 10, "creatives": [{"id": ")" +
           id + R"(-cr", "banner": {"sizes": [{"w": 300, "h": 250}]}, "markup": "<b>ad</b>"}],
      "pricing": {"name": "fixed", "config": {
        "@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": )" +
           std::to_string(cpm) + "}}" + targeting + "}";
  };
  std::ofstream(config) << R"({"notice_key_file": ")" << (dir / "notice.key").string() << R"(",
    "data_providers": [{"id": "acme", "data_names": ["acme-data.com"], "segtax": [4]}],
    "campaigns": [)" << campaign("auto-intenders", 4, R"(, "targeting": {"audience": {
                                   "all_of": [{"segment": "3p:acme:243"}]}})")
                        << ", " << campaign("contextual", 1, "") << "]}";
  return config.string();
}

std::string json_request(const std::string& regs) {
  return R"({"id": "r1", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
    "site": {"domain": "news.example"}, "user": {"id": "u1", "data": [
      {"name": "Acme-Data.com", "ext": {"segtax": 4}, "segment": [{"id": "243"}, {"id": "7"}]}]})" +
         regs + "}";
}

std::string winner(const bidder::test::http_reply& r) {
  REQUIRE(r.status == 200);
  return std::string(json::parse(r.body)
                         .at("seatbid")
                         .as_array()[0]
                         .at("bid")
                         .as_array()[0]
                         .at("cid")
                         .as_string());
}

}  // namespace

TEST_CASE("third-party segments in a request target campaigns through the real service",
          "[integration]") {
  bidder::test::temp_dir dir("bidder-third-party-it");
  const std::string config = write_config(dir.path);
  std::ostringstream log;
  const fs::path data = dir.path / "data";
  {
    auto svc = bidder::test::start_service(config, data, log);
    const std::uint16_t port = svc->bid_port();

    CHECK(winner(call(port, "POST", "/bid", json_request(""))) == "auto-intenders");
    // Without the segment, or from a provider not configured: the contextual campaign.
    std::string other = json_request("");
    other.replace(other.find("Acme-Data.com"), 13, "other-data.com");
    CHECK(winner(call(port, "POST", "/bid", other)) == "contextual");
    // No consent, no use: GDPR applies and no consent string came.
    CHECK(winner(call(port, "POST", "/bid", json_request(R"(, "regs": {"gdpr": 1})"))) ==
          "contextual");

    // The same request as protobuf.
    bidder::openrtb::BidRequest pb;
    pb.set_id("r2");
    auto* imp = pb.add_imp();
    imp->set_id("1");
    imp->mutable_banner()->set_w(300);
    imp->mutable_banner()->set_h(250);
    pb.mutable_site()->set_domain("news.example");
    auto* d = pb.mutable_user()->add_data();
    d->set_name("acme-data.com");
    d->mutable_ext()->set_segtax(4);
    d->add_segment()->set_id("243");
    std::string bytes;
    REQUIRE(pb.SerializeToString(&bytes));
    bidder::test::http_client client(port);
    bidder::test::http_call c;
    c.method = "POST";
    c.target = "/bid";
    c.body = bytes;
    c.headers = {{"Content-Type", "application/x-protobuf"}};
    const bidder::test::http_reply reply = client.send(c);
    REQUIRE(reply.status == 200);
    bidder::openrtb::BidResponse response;
    REQUIRE(response.ParseFromString(reply.body));
    REQUIRE(response.seatbid_size() == 1);
    CHECK(response.seatbid(0).bid(0).cid() == "auto-intenders");
    svc->stop(std::chrono::milliseconds(500));
  }
  // The bid's logged features name the segment it was bought on (recency bucket 0: now).
  const std::string lines = bidder::test::event_lines(data / "events");
  CHECK_THAT(lines, Catch::Contains("g=3p:acme:243:0"));
  // The user's pseudonymous key on the bids that could use the id, never on the GDPR one.
  std::size_t with_user = 0, bids = 0;
  for (std::size_t at = 0, end; (end = lines.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = lines.substr(at, end - at);
    if (line.find(R"("kind":"BID")") == std::string::npos) continue;
    ++bids;
    if (line.find(R"("user_key_hash":")") != std::string::npos) ++with_user;
  }
  CHECK(bids == 4);
  CHECK(with_user == 2);  // the JSON ones with user.id and consent; protobuf sent no id
}
