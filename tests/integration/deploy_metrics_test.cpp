// The metric names the deploy files query (deploy/grafana/bidder-dashboard.json,
// deploy/prometheus/bidder-rules.yml) are ones the real service exports: it is started on port
// 0, its /metrics scraped, and tests/deploy/check-metric-names compares the two.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "bidder/app/service.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/support/temp_dir.hpp"

TEST_CASE("every metric the dashboard and the alert rules query is in a real /metrics scrape",
          "[integration][deploy]") {
  bidder::test::temp_dir dir("bidder-deploy-metrics");
  bidder::app::serve_options options;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = (dir.path / "data").string();
  options.threads = 1;
  std::ostringstream log;
  auto svc = bidder::app::service::start(options, log);
  REQUIRE(svc);

  bidder::test::http_reply metrics;
  {
    // Closed before stop(), which would otherwise wait out its grace for the idle connection.
    bidder::test::http_client client((*svc)->admin_port());
    bidder::test::http_call scrape;
    scrape.method = "GET";
    scrape.target = "/metrics";
    metrics = client.send(scrape);
  }
  REQUIRE(metrics.status == 200);
  (*svc)->stop(std::chrono::seconds(5));
  const auto metrics_file = dir.path / "metrics.txt";
  std::ofstream(metrics_file) << metrics.body;

  const std::string source = BIDDER_SOURCE_DIR;
  const std::string command = source + "/tests/deploy/check-metric-names '" +
                              metrics_file.string() + "' '" + source +
                              "/deploy/grafana/bidder-dashboard.json' '" + source +
                              "/deploy/prometheus/bidder-rules.yml' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) output.append(chunk, n);
  const int status = ::pclose(pipe);
  std::cout << output;  // a BIDDER-TEST-SKIPPED line (no python3-yaml) makes ctest skip
  INFO(output);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
