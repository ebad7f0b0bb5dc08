// The real service with `event_stream` on, against librdkafka's mock cluster: bids and win
// notices over HTTP while the broker goes down and comes back; every win must reach the topic
// exactly once after de-duplication by event id.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "tests/integration/service_harness.hpp"
#include "tests/stream/mock_kafka.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::test::call;

std::string write_config(const fs::path& dir, const std::string& brokers) {
  std::ofstream(dir / "notice.key") << "0123456789abcdef0123456789abcdef-event-stream\n";
  const fs::path config = dir / "config.json";
  std::ofstream(config) << R"({"notice_key_file": ")" << (dir / "notice.key").string() << R"(",
    "event_stream": {"enabled": true, "brokers": ")"
                        << brokers << R"(", "topic": "events", "source": "it-1",
                     "message_timeout_ms": 1000, "properties": {"linger.ms": "2"}},
    "campaigns": [{"id": "c1", "status": "ACTIVE", "advertiser_domains": ["shop.example"],
      "max_cpm": 10, "creatives": [{"id": "cr1", "banner": {"sizes": [{"w": 300, "h": 250}]},
        "markup": "<a>ad</a>", "landing_url": "https://shop.example/landing"}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 2.0}}}]})";
  return config.string();
}

// One bid and its win notice (auction "a1": notice_path substitutes that auction id); returns
// the bid id, which differs from bid to bid.
std::string bid_and_win(std::uint16_t port) {
  const std::string request = R"({"id":"a1","imp":[{"id":"1","banner":{"w":300,"h":250}}]})";
  const auto r = call(port, "POST", "/bid", request);
  REQUIRE(r.status == 200);
  const json::object bid =
      json::parse(r.body).at("seatbid").as_array()[0].at("bid").as_array()[0].as_object();
  const std::string nurl(bid.at("nurl").as_string());
  REQUIRE(call(port, "GET", bidder::test::notice_path(nurl)).status == 204);
  return std::string(bid.at("id").as_string());
}

bool eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a poll interval, not a wait
  }
  return done();
}

std::string metrics(std::uint16_t admin) { return call(admin, "GET", "/metrics").body; }

// Distinct WIN events per bid id, after dropping repeats by event id.
std::map<std::string, int> wins_by_bid(const std::vector<stream_test::consumed>& messages) {
  std::set<std::string> seen;
  std::map<std::string, int> wins;
  for (const auto& m : messages) {
    if (!seen.insert(m.id).second) continue;
    const json::object line = json::parse(m.value).as_object();
    if (line.at("kind").as_string() != "WIN") continue;
    ++wins[std::string(line.at("bid_id").as_string())];
  }
  return wins;
}

}  // namespace

TEST_CASE("the server's wins reach the stream exactly once across a broker outage",
          "[integration][stream]") {
  bidder::test::temp_dir dir("bidder-event-stream-it");
  stream_test::mock_kafka kafka(3);
  std::ostringstream log;
  auto svc = bidder::test::start_service(write_config(dir.path, kafka.bootstraps()),
                                         dir.path / "data", log);
  const std::uint16_t port = svc->bid_port();
  const std::uint16_t admin = svc->admin_port();

  std::set<std::string> bids;
  for (int i = 0; i < 30; ++i) bids.insert(bid_and_win(port));
  REQUIRE(eventually(
      [&] { return metrics(admin).find("bidder_event_stream_connected 1") != std::string::npos; }));

  kafka.set_down(true);
  for (int i = 30; i < 60; ++i) bids.insert(bid_and_win(port));  // the bid path goes on
  REQUIRE(eventually(
      [&] { return metrics(admin).find("bidder_event_stream_connected 0") != std::string::npos; }));
  kafka.set_down(false);
  for (int i = 60; i < 90; ++i) bids.insert(bid_and_win(port));
  REQUIRE(bids.size() == 90);

  std::map<std::string, int> wins;
  REQUIRE(eventually([&] {
    wins = wins_by_bid(kafka.read_all());
    return wins.size() == bids.size();
  }));
  for (const std::string& bid : bids) {
    INFO(bid);
    CHECK(wins[bid] == 1);
  }
  CHECK(eventually([&] {
    return metrics(admin).find("bidder_event_stream_lag_bytes 0\n") != std::string::npos;
  }));
  CHECK(metrics(admin).find("# TYPE bidder_event_stream_delivered_total counter") !=
        std::string::npos);
  svc->stop(std::chrono::milliseconds(500));
}
