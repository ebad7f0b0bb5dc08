// File: tests/integration/service_harness.hpp
//
// What the integration tests of the real service share: start it on loopback port 0 with a
// config file and a data directory, call it over HTTP, substitute an exchange's macros in the
// URLs its bids carry, read its event log.
//
//   std::ostringstream log;
//   auto svc = bidder::test::start_service(config_path, dir / "data", log);
//   auto reply = bidder::test::call(svc->bid_port(), "POST", "/bid", request_json);
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "bidder/app/service.hpp"
#include "tests/integration/http_client.hpp"

namespace bidder::test {

inline std::unique_ptr<app::service> start_service(const std::string& config,
                                                   const std::filesystem::path& data,
                                                   std::ostringstream& log) {
  app::serve_options options;
  options.config_path = config;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = data.string();
  options.threads = 1;
  options.shed_busy_share = 0;
  options.shed_queued = std::chrono::microseconds(0);
  auto started = app::service::start(options, log);
  if (!started) FAIL("service did not start: " << started.error().message);
  return std::move(*started);
}

inline http_reply call(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = "") {
  http_client client(port);
  http_call c;
  c.method = method;
  c.target = target;
  c.body = body;
  return client.send(c);
}

/// The path and query of a URL a bid carries, with the exchange's macros substituted (the
/// clearing price is 1.50).
inline std::string notice_path(std::string url) {
  url = url.substr(url.find('/', url.find("//") + 2));
  for (const auto& [macro, value] : {std::pair<std::string, std::string>{"${AUCTION_ID}", "a1"},
                                     {"${AUCTION_IMP_ID}", "1"},
                                     {"${AUCTION_PRICE}", "1.50"}}) {
    for (std::size_t at; (at = url.find(macro)) != std::string::npos;) {
      url.replace(at, macro.size(), value);
    }
  }
  return url;
}

/// Every line of the event log files in `dir`.
inline std::string event_lines(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::ostringstream text;
    text << in.rdbuf();
    all += text.str();
  }
  return all;
}

}  // namespace bidder::test
