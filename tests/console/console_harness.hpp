// File: tests/console/console_harness.hpp
//
// What the campaign API tests share: a config file with one campaign, the service on loopback
// port 0 over a data directory in a temp dir, and JSON calls on its admin port.
#pragma once

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "bidder/app/service.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace bidder::test {

// A campaign bidding 2.00 on a banner of w x h.
inline std::string campaign_text(const std::string& id, int w, int h, double max_cpm = 10) {
  return R"({"id": ")" + id + R"(", "status": "ACTIVE", "advertiser_domains": ["a.com"],
      "max_cpm": )" +
         std::to_string(max_cpm) + R"(, "creatives": [{"id": "cr-)" + id +
         R"(", "banner": {"sizes": [{"w": )" + std::to_string(w) + R"(, "h": )" +
         std::to_string(h) + R"(}]}, "markup": "<b>ad</b>"}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 2.0}}})";
}

inline std::string write_console_config(const std::filesystem::path& dir,
                                        const std::string& campaigns) {
  const auto path = dir / "campaigns.json";
  std::ofstream(path) << R"({"notice_base_url": "http://127.0.0.1:1", "campaigns": [)" + campaigns +
                             "]}";
  return path.string();
}

struct console_fixture {
  temp_dir dir{"bidder-console"};
  std::string config = write_console_config(dir.path, campaign_text("c1", 300, 250));
  std::ostringstream log;
  std::unique_ptr<app::service> svc;
  std::string token;

  explicit console_fixture(std::string admin_token = "") : token(std::move(admin_token)) {
    start();
  }
  void start() {
    app::serve_options options;
    options.config_path = config;
    options.listen = "127.0.0.1:0";
    options.admin_listen = "127.0.0.1:0";
    options.data_dir = (dir.path / "data").string();
    options.threads = 1;
    options.shed_busy_share = 0;
    options.shed_queued = std::chrono::microseconds(0);
    options.admin_token = token;
    auto started = app::service::start(options, log);
    if (!started) FAIL("service did not start: " << started.error().message);
    svc = std::move(*started);
  }
  void restart() {
    svc->stop(std::chrono::milliseconds(500));
    svc.reset();
    start();
  }

  // One admin call; the bearer token is sent when the fixture has one and `headers` has no
  // Authorization of its own ("" removes it).
  http_reply admin(const std::string& method, const std::string& target,
                   const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    if (!token.empty() && !headers.contains("Authorization")) {
      headers["Authorization"] = "Bearer " + token;
    }
    if (headers.contains("Authorization") && headers["Authorization"].empty()) {
      headers.erase("Authorization");
    }
    if (!headers.contains("Content-Type")) headers["Content-Type"] = "application/json";
    http_client client(svc->admin_port());
    return client.send(
        http_call{.method = method, .target = target, .body = body, .headers = headers});
  }

  boost::json::value json_of(const http_reply& reply) {
    INFO(reply.body);
    return boost::json::parse(reply.body);
  }

  std::uint64_t revision() {
    const auto reply = admin("GET", "/admin/campaigns");
    REQUIRE(reply.status == 200);
    return json_of(reply).at("revision").to_number<std::uint64_t>();
  }

  // The campaign id of the bid for a w x h banner, or "" for no bid.
  std::string bid_campaign(int w, int h) {
    const std::string request = R"({"id":"r1","imp":[{"id":"1","banner":{"w":)" +
                                std::to_string(w) + R"(,"h":)" + std::to_string(h) + "}}]}";
    const http_reply reply = post(svc->bid_port(), "/bid", request);
    if (reply.status == 204) return "";
    REQUIRE(reply.status == 200);
    return std::string(boost::json::parse(reply.body)
                           .at("seatbid")
                           .as_array()[0]
                           .at("bid")
                           .as_array()[0]
                           .at("cid")
                           .as_string());
  }
};

inline std::string quoted_revision(std::uint64_t n) {
  std::string out = "\"";
  out += std::to_string(n);
  out += '"';
  return out;
}

}  // namespace bidder::test
