// Campaign and audience distribution to a fleet (docs/fleet.md "Distribution") end to end: a
// real redis-server on a unix socket and real `bidder serve --redis` processes on loopback. A
// campaign created through one bidder's API bids on the others, concurrent edits based on the
// same revision make one revision (the other is 409), a rollback distributes, a bidder started
// later catches up, and an audience built once is ingested into every bidder by one CLI call.
// Skipped (BIDDER-TEST-SKIPPED) when redis-server is not installed.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "tests/fleet/fleet_process.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace bidder::test::fleet_process;
using bidder::test::http_call;
using bidder::test::http_client;
using bidder::test::http_reply;

// Generous for a loaded machine and the sanitizer build: every wait polls and ends early.
constexpr auto converge = std::chrono::seconds(15);
const std::vector<std::string> fleet_flags{"--fleet-sync-ms", "50"};

std::string campaign(const std::string& id, int w, int h, const std::string& extra = "") {
  return R"({"id": ")" + id + R"(", "status": "ACTIVE", "advertiser_domains": ["a.com"],
      "max_cpm": 5, "creatives": [{"id": ")" +
         id + R"(-cr", "banner": {"sizes": [{"w": )" + std::to_string(w) + R"(, "h": )" +
         std::to_string(h) + R"(}]}, "markup": "<b>ad</b>"}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 2}})" +
         extra + "}";
}

std::string request(int w, int h, const std::string& user) {
  return R"({"id":"r","imp":[{"id":"1","banner":{"w":)" + std::to_string(w) + R"(,"h":)" +
         std::to_string(h) + R"(}}],"site":{"domain":"news.example"},"user":{"id":")" + user +
         R"("}})";
}

/// The campaign that bid, or "" for a no-bid.
std::string winner(bidder_process& b, const std::string& body) {
  const http_reply r = b.send({.method = "POST", .target = "/bid", .body = body});
  if (r.status != 200) return "";
  return std::string(json::parse(r.body)
                         .at("seatbid")
                         .as_array()[0]
                         .at("bid")
                         .as_array()[0]
                         .at("cid")
                         .as_string());
}

http_reply admin(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body = "", const std::string& if_match = "") {
  http_client client(port);
  http_call call{.method = method, .target = target, .body = body};
  // A loopback admin call without a token needs no CSRF token when its body is JSON.
  call.headers["Content-Type"] = "application/json";
  if (!if_match.empty()) call.headers["If-Match"] = "\"" + if_match + "\"";
  return client.send(call);
}

int run(const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = spawn(args, log);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct distributed_fleet {
  bidder::test::temp_dir dir{"bidder-distrib"};
  redis_server redis{dir.path};
  std::vector<bidder_process> bidders{4};  // the fourth starts later
  std::string config;

  distributed_fleet() {
    redis.start();
    std::ofstream(dir.path / "notice.key") << "0123456789abcdef0123456789abcdef-fleet\n";
    config = (dir.path / "campaigns.json").string();
    std::ofstream(config) << R"({"notice_key_file": ")" << (dir.path / "notice.key").string()
                          << R"(", "campaigns": [)" << campaign("base", 300, 250) << ", "
                          << campaign("visitors-only", 320, 50,
                                      R"(, "targeting": {"audience": {"all_of": [
                                          {"segment": "site-visitor"}]}})")
                          << "]}";
    for (std::size_t i = 0; i < 3; ++i) start(i);
  }
  void start(std::size_t i) {
    const fs::path d = dir.path / ("b" + std::to_string(i));
    fs::create_directories(d);
    start_bidder(bidders[i], d, config, redis.socket, fleet_flags);
  }
  /// Every started bidder serves `revision`, within the deadline.
  bool all_serve(double revision) {
    return poll_until(
        [&] {
          for (auto& b : bidders) {
            if (b.pid > 0 && metric(b.admin_port, "bidder_config_revision") != revision) {
              return false;
            }
          }
          return true;
        },
        converge);
  }
};

}  // namespace

TEST_CASE("a campaign revision made on one bidder reaches the fleet; stale edits are refused",
          "[fleet][process][distribution]") {
  if (redis_missing()) return;
  distributed_fleet f;
  bidder_process &a = f.bidders[0], &b = f.bidders[1], &c = f.bidders[2], &late = f.bidders[3];
  // Every bidder seeded revision 1 from the same file; the first one seeded Redis.
  REQUIRE(f.all_serve(1));
  REQUIRE(poll_until([&] { return f.redis.value("bidder:config:revision") == 1; }, converge));
  CHECK(winner(b, request(728, 90, "u1")).empty());

  // Created through A's API: within a few sync intervals B and C bid for it.
  const http_reply created =
      admin(a.admin_port, "POST", "/admin/campaigns", campaign("leader", 728, 90), "1");
  INFO(created.body);
  REQUIRE(created.status == 201);
  REQUIRE(f.all_serve(2));
  CHECK(f.redis.value("bidder:config:revision") == 2);
  for (auto* x : {&a, &b, &c}) CHECK(winner(*x, request(728, 90, "u1")) == "leader");
  const json::value history = json::parse(admin(c.admin_port, "GET", "/admin/revisions").body);
  const auto& last = history.at("revisions").as_array().back().as_object();
  CHECK(last.at("revision").as_int64() == 2);
  CHECK(last.at("source").as_string() == "fleet");
  CHECK(last.at("what").as_string() == "create campaign leader");

  // Two edits based on revision 2, on B and C at once: one makes revision 3, the other is 409.
  auto edit = [&](bidder_process& x, int cpm) {
    return std::async(std::launch::async, [&x, cpm] {
      std::string body = campaign("leader", 728, 90);
      body.replace(body.find("\"max_cpm\": 5"), 12, "\"max_cpm\": " + std::to_string(cpm));
      return admin(x.admin_port, "PUT", "/admin/campaigns/leader", body, "2").status;
    });
  };
  auto on_b = edit(b, 7);
  auto on_c = edit(c, 9);
  const int status_b = on_b.get(), status_c = on_c.get();
  INFO("B " << status_b << ", C " << status_c);
  CHECK(((status_b == 200 && status_c == 409) || (status_b == 409 && status_c == 200)));
  REQUIRE(f.all_serve(3));
  CHECK(f.redis.value("bidder:config:revision") == 3);
  // Every bidder holds the winner's edit.
  const std::string expected_cpm = status_b == 200 ? "7" : "9";
  for (auto* x : {&a, &b, &c}) {
    const json::value one =
        json::parse(admin(x->admin_port, "GET", "/admin/campaigns/leader").body);
    CHECK(json::serialize(one.at("campaign").at("max_cpm")) == expected_cpm);
  }
  // A stale edit (If-Match an old revision) is 409 on any bidder.
  CHECK(admin(a.admin_port, "PUT", "/admin/campaigns/leader", campaign("leader", 728, 90), "2")
            .status == 409);

  // A rollback on C to revision 1 distributes: revision 4, nobody bids on 728x90 any more.
  REQUIRE(admin(c.admin_port, "POST", "/admin/revisions/1/rollback", "", "3").status == 200);
  REQUIRE(f.all_serve(4));
  for (auto* x : {&a, &b, &c}) CHECK(winner(*x, request(728, 90, "u1")).empty());

  // A bidder started later seeds revision 1 from the file and catches up to the fleet's 4.
  f.start(3);
  REQUIRE(f.all_serve(4));
  CHECK(winner(late, request(728, 90, "u1")).empty());
  CHECK(winner(late, request(300, 250, "u1")) == "base");
  CHECK(metric(late.admin_port, "bidder_fleet_config_applied_total") >= 1);
  CHECK(metric(late.admin_port, "bidder_fleet_config_refused_total") == 0);

  // Redis gone: a change is refused (not made locally), and the set keeps serving.
  kill_and_wait(f.redis.pid, SIGKILL);
  const http_reply refused =
      admin(a.admin_port, "POST", "/admin/campaigns", campaign("orphan", 728, 90), "4");
  INFO(refused.body);
  CHECK(refused.status == 500);
  CHECK_THAT(refused.body, Catch::Contains("Redis"));
  CHECK(metric(a.admin_port, "bidder_config_revision") == 4);
  CHECK(winner(a, request(300, 250, "u1")) == "base");
}

TEST_CASE("an audience built once is ingested into every bidder of the fleet",
          "[fleet][process][distribution]") {
  if (redis_missing()) return;
  distributed_fleet f;
  REQUIRE(f.all_serve(1));
  const fs::path members = f.dir.path / "visitors.txt";
  {
    std::ofstream out(members);
    for (int i = 0; i < 500; ++i) out << "visitor-" << i << "\n";
  }
  const fs::path built = f.dir.path / "built";
  REQUIRE(run({BIDDER_BINARY, "audience", "build", members.string(), "--segment", "site-visitor",
               "--out", built.string()},
              f.dir.path / "build.log") == 0);
  std::vector<std::string> ingest{BIDDER_BINARY, "audience", "ingest", built.string()};
  for (std::size_t i = 0; i < 3; ++i) {
    ingest.push_back("--admin");
    ingest.push_back("http://127.0.0.1:" + std::to_string(f.bidders[i].admin_port));
  }
  const int ingested = run(ingest, f.dir.path / "ingest.log");
  INFO(read_file(f.dir.path / "ingest.log"));
  REQUIRE(ingested == 0);
  for (std::size_t i = 0; i < 3; ++i) {
    auto& x = f.bidders[i];
    const json::value list = json::parse(admin(x.admin_port, "GET", "/admin/audiences").body);
    std::int64_t count = -1;
    for (const auto& s : list.at("segments").as_array()) {
      if (s.at("name").as_string() == "site-visitor") count = s.at("members").as_int64();
    }
    CHECK(count == 500);
    // A member is bid for by the audience campaign on every bidder; a stranger is not.
    const bool member_bid = poll_until(
        [&] { return winner(x, request(320, 50, "visitor-17")) == "visitors-only"; }, converge);
    INFO(x.send({.method = "POST", .target = "/bid", .body = request(320, 50, "visitor-17")}).body);
    CHECK(member_bid);
    CHECK(winner(x, request(320, 50, "stranger")).empty());
  }
}
