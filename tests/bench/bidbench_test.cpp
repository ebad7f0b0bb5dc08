// Tests of the bidbench command line (bench/load/bidbench): flag errors, the data-set writers,
// the --floor comparison, and a 2-second run against the real bidder (bidder::app::service,
// exactly what `bidder serve` runs) on loopback port 0 whose counts must add up, client side
// and server side.
#include "bench/load/bidbench.hpp"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/load/audience_fill.hpp"
#include "bench/load/report.hpp"
#include "bidder/app/service.hpp"
#include "bidder/core/build_info.hpp"
#include "bidder/core/deadline.hpp"
#include "tests/bench/json_file.hpp"
#include "tests/bench/test_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::bench::test::read_json;
using namespace bidder::bench;

namespace {

// This file's temporary directories.
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidbench-cli") {}
};

int run(const std::vector<std::string>& args, std::string* out = nullptr,
        std::string* err = nullptr) {
  std::ostringstream o;
  std::ostringstream e;
  const int rc = run_bidbench(args, o, e);
  if (out != nullptr) *out = o.str();
  if (err != nullptr) *err = e.str();
  return rc;
}

std::uint64_t u64(const json::value& v) {
  return v.is_uint64() ? v.as_uint64() : static_cast<std::uint64_t>(v.as_int64());
}

std::string http_get(std::uint16_t port, const std::string& target) {
  namespace beast = boost::beast;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  beast::http::request<beast::http::empty_body> req(beast::http::verb::get, target, 11);
  req.set(beast::http::field::host, "127.0.0.1");
  beast::http::write(socket, req);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(socket, buffer, res);
  return res.body();
}

// The value of a Prometheus sample line "name{labels} value" (0 when absent).
double sample(const std::string& metrics, const std::string& name) {
  const std::size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stod(metrics.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("bad flags are refused with the flag and what it takes", "[bench][unit]") {
  struct bad_case {
    std::vector<std::string> args;
    const char* message;
  };
  const auto c = GENERATE(values<bad_case>({
      {{"--rate", "fast"}, "--rate: expected a number of requests per second"},
      {{"--rate", "0"}, "--rate"},
      {{"--duration", "ten"}, "--duration: expected a duration"},
      {{"--connections", "0"}, "--connections: expected 1 to"},
      {{"--target", "https://127.0.0.1/bid"}, "https is not supported"},
      {{"--target", "http://bidder.example/bid"}, "numeric IP"},
      {{"--ramp", "10k:5k:1k"}, "TO must not be below FROM"},
      {{"--ramp", "10k-20k"}, "FROM:TO:STEP"},
      {{"--ramp", "1:100000:1"}, "more than 200 steps"},
      {{"--ramp", "1k:2k:1k", "--rate", "5k"}, "exclude each other"},
      {{"--check", "p99<5"}, "needs a unit"},
      {{"--audience-hit", "1.5"}, "share from 0 to 1"},
      {{"--cpu", "one"}, "CPU number"},
      {{"--frobnicate", "1"}, "unknown flag --frobnicate"},
      {{"--rate"}, "--rate: needs a value"},
      {{"stray"}, "unexpected argument"},
      {{"--floor=yes"}, "takes no value"},
      {{"--connections", "1e30"}, "--connections: expected 1 to"},  // no cast out of range
      {{"--connections", "99999999999999999999"}, "--connections: expected 1 to"},
      {{"--seed", "18446744073709551616"}, "--seed: expected a whole number"},  // 2^64
      {{"--seed", "-1"}, "--seed: expected a whole number"},
      {{"--duration", "8d"}, "--duration: expected a duration"},
      {{"--duration", "200h"}, "--duration: at most 7 days"},
  }));
  std::string err;
  CHECK(run(c.args, nullptr, &err) == 2);
  INFO(err);
  CHECK(err.find(c.message) != std::string::npos);
  CHECK(err.find("bidbench --help") != std::string::npos);
}

TEST_CASE("flags parse into options, with --flag=value too", "[bench][unit]") {
  auto o = parse_bidbench_args(
      {"--rate=50k", "--duration", "2s",      "--connections",  "16",   "--requests",  "/tmp/x",
       "--generate", "--seed",     "9",       "--audience-hit", "0.25", "--users",     "10M",
       "--slo-p99",  "2ms",        "--floor", "--cpu",          "1",    "--floor-cpu", "0"});
  REQUIRE(o.has_value());
  CHECK(o->rate == 50'000);
  CHECK(o->duration == std::chrono::seconds(2));
  CHECK(o->connections == 16);
  CHECK(o->requests_dir == "/tmp/x");
  CHECK(o->generate);
  CHECK(o->traffic.seed == 9);
  CHECK(o->traffic.audience_hit == 0.25);
  CHECK(o->traffic.users == 10'000'000);
  CHECK(o->slo_p99 == std::chrono::milliseconds(2));
  CHECK(o->floor);
  CHECK(o->cpu == 1u);
  CHECK(o->floor_cpu == 0u);
  // Plain integers are exact (a double would round 2^53 + 1), scaled ones still parse.
  auto exact = parse_bidbench_args({"--seed", "9007199254740993", "--users", "2.5k"});
  REQUIRE(exact.has_value());
  CHECK(exact->traffic.seed == 9'007'199'254'740'993ULL);
  CHECK(exact->traffic.users == 2'500);
  auto max = parse_bidbench_args({"--rate", "max", "--requests", "d"});
  REQUIRE(max.has_value());
  CHECK(max->rate == 0);
  CHECK(!max->generate);  // --requests alone replays only
  std::string out;
  CHECK(run({"--help"}, &out) == 0);
  CHECK(out.find("--ramp FROM:TO:STEP") != std::string::npos);
}

TEST_CASE("the floor mode compares in one command and --check gates", "[bench][integration]") {
  temp_dir dir;
  const fs::path report = dir.path / "floor.json";
  const fs::path html = dir.path / "floor.html";
  std::string out;
  std::string err;
  const int rc = run({"--floor", "--rate", "2000", "--duration", "500ms", "--warmup", "0",
                      "--connections", "4", "--pool", "50", "--json", report.string(), "--html",
                      html.string(), "--check", "p99<1s,errors=0,nobid_share=1,bids>0"},
                     &out, &err);
  INFO(out << err);
  CHECK(rc == 3);  // bids>0 fails against a server that only answers 204
  CHECK(out.find("FAIL  bids>0") != std::string::npos);
  CHECK(out.find("PASS  p99<1s") != std::string::npos);
  const json::object doc = read_json(report);
  const auto& runs = doc.at("runs").as_array();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].as_object().at("label").as_string() == "floor");
  CHECK(u64(runs[0].as_object().at("counts").as_object().at("sent")) == 1000);
  CHECK(u64(runs[0].as_object().at("counts").as_object().at("no_bids_204")) == 1000);
  CHECK(doc.at("machine").as_object().at("cpus").to_number<std::int64_t>() > 0);
  CHECK(doc.at("build").as_object().at("type").as_string().size() > 0);
  // The percentile curve: 1,000 answers resolve up to 99.9 %; its last point is the max.
  const auto& run = runs[0].as_object();
  const auto& curve = run.at("latency_curve").as_array();
  REQUIRE(curve.size() > 2);
  CHECK(curve.back().as_array().at(0).to_number<double>() == 100.0);
  CHECK(u64(curve.back().as_array().at(1)) == u64(run.at("latency").as_object().at("max_ns")));
  CHECK(curve[curve.size() - 2].as_array().at(0).to_number<double>() == Approx(99.9));
  std::ifstream page(html);
  std::stringstream text;
  text << page.rdbuf();
  CHECK(text.str().find("<svg") != std::string::npos);
  CHECK(text.str().find("latency by percentile") != std::string::npos);
}

TEST_CASE("a ramp finds the highest rate under the SLO", "[bench][integration]") {
  temp_dir dir;
  const fs::path report = dir.path / "ramp.json";
  const fs::path html = dir.path / "ramp.html";
  std::string out;
  std::string err;
  // The floor holds a 1 s p99 at these rates easily: every step holds.
  const int rc =
      run({"--floor", "--ramp", "500:1500:500", "--slo-p99", "1s", "--duration", "300ms",
           "--warmup", "0", "--connections", "2", "--pool", "20", "--json", report.string(),
           "--html", html.string(), "--check", "slo_rps>=1500,full_rps>=1500"},
          &out, &err);
  INFO(out << err);
  CHECK(rc == 0);
  const json::object doc = read_json(report);
  const auto& ramp = doc.at("ramps").as_array().at(0).as_object();
  CHECK(ramp.at("steps").as_array().size() == 3);
  CHECK(u64(ramp.at("max_rate_under_slo")) == 1500);
  // Every answer of the floor is a 204, at every step alike: nothing was shed.
  CHECK(u64(ramp.at("max_rate_without_shedding")) == 1500);
  CHECK(out.find("max throughput under p99") != std::string::npos);
  CHECK(out.find("floor: ... without shedding (204 share within 1 point of the first step's 100.0 "
                 "%): 1,500/s") != std::string::npos);
  std::ifstream page(html);
  std::stringstream text;
  text << page.rdbuf();
  CHECK(text.str().find("p99 latency vs offered rate") != std::string::npos);
  CHECK(text.str().find("bids (200)") == std::string::npos);  // the floor answers no bid
}

TEST_CASE("the highest step without shedding has the first step's 204 share, give or take a point",
          "[bench][unit]") {
  // A step that held, answering 1,000 requests with `no_bids` 204s.
  auto step = [](std::uint64_t rate, std::uint64_t no_bids, bool held = true) {
    ramp_step s;
    s.rate = rate;
    s.held = held;
    s.result.counts.bids = 1000 - no_bids;
    s.result.counts.no_bids = no_bids;
    return s;
  };
  ramp_report ramp;
  CHECK(!find_best_without_shedding(ramp));
  // The traffic's own no-bids are 12 %; 12.9 % is within a point, 13.5 % is shedding.
  ramp.steps = {step(1000, 120), step(2000, 129), step(3000, 135), step(4000, 300)};
  CHECK(find_best_without_shedding(ramp) == std::optional<std::size_t>(1));
  // A step with shedding does not end the search: a later one without it counts.
  ramp.steps.push_back(step(5000, 121));
  CHECK(find_best_without_shedding(ramp) == std::optional<std::size_t>(4));
  // ... when it held.
  ramp.steps.back().held = false;
  CHECK(find_best_without_shedding(ramp) == std::optional<std::size_t>(1));
  // The first step's share is its own baseline, even when it did not hold.
  ramp.steps = {step(1000, 500, false)};
  CHECK(!find_best_without_shedding(ramp));
  ramp.steps = {step(1000, 0), step(2000, 0)};
  CHECK(find_best_without_shedding(ramp) == std::optional<std::size_t>(1));
}

TEST_CASE("a ramp step fails on 4xx, except for replayed files meant to be refused",
          "[bench][integration]") {
  // Every second answer is a 400, the others bids.
  bidder::bench::test::test_server server({.statuses = {200, 400}});
  const std::string target = "http://127.0.0.1:" + std::to_string(server.port()) + "/bid";
  auto ramp = [&](const std::vector<std::pair<std::string, std::string>>& files) {
    temp_dir dir;
    for (const auto& [name, json] : files) std::ofstream(dir.path / name) << json;
    const fs::path report = dir.path / "ramp.json";
    const fs::path html = dir.path / "ramp.html";
    std::string out;
    std::string err;
    run({"--target", target, "--requests", dir.path.string(), "--ramp", "200:400:200", "--slo-p99",
         "1s", "--duration", "300ms", "--warmup", "0", "--connections", "2", "--json",
         report.string(), "--html", html.string()},
        &out, &err);
    INFO(out << err);
    std::ifstream page(html);
    std::stringstream text;
    text << page.rdbuf();
    // Bids per second are drawn beside the answers, where a shedding bidder's curves part.
    CHECK(text.str().find("target: bids (200)") != std::string::npos);
    return read_json(report).at("ramps").as_array().at(0).as_object();
  };
  const std::string request = R"({"id":"1","imp":[{"id":"1","banner":{"w":300,"h":250}}]})";
  // Half of the files are the corpus's DEVIATION kind: half of the answers may be 400s.
  const auto meant = ramp({{"a.json", request}, {"b-DEVIATION.json", request}});
  CHECK(meant.at("steps").as_array().size() == 2);
  CHECK(u64(meant.at("max_rate_under_slo")) == 400);
  // None is: the first step already fails, on its 4xx.
  const auto refused = ramp({{"a.json", request}, {"b.json", request}});
  const auto& steps = refused.at("steps").as_array();
  REQUIRE(steps.size() == 1);
  CHECK_THAT(std::string(steps[0].as_object().at("verdict").as_string()), Catch::Contains("4xx"));
  CHECK(refused.at("max_rate_under_slo").is_null());
}

TEST_CASE("data-set flags write a config and audience, then exit", "[bench][unit]") {
  temp_dir dir;
  const fs::path config = dir.path / "c.json";
  const fs::path audience = dir.path / "aud";
  std::string err;
  CHECK(run({"--write-config", config.string(), "--campaigns", "25", "--write-audience",
             audience.string(), "--users", "100"},
            nullptr, &err) == 0);
  INFO(err);
  CHECK(fs::file_size(config) > 1000);
  CHECK(fs::exists(audience / "seg-0.txt"));
  CHECK(run({"--write-config", (dir.path / "missing" / "c.json").string()}, nullptr, &err) == 1);
  CHECK(err.find("cannot open") != std::string::npos);
}

TEST_CASE("bidbench runs 2 s against the real bidder and the counts add up",
          "[bench][integration]") {
  temp_dir dir;
  const std::string config = (dir.path / "campaigns.json").string();
  const std::string data = (dir.path / "data").string();
  const std::string report = (dir.path / "run.json").string();
  // The data set: 200 campaigns and 2,000 users, half of the requests from known users.
  const std::vector<std::string> workload{"--seed",      "4",   "--users",        "2000",
                                          "--campaigns", "200", "--audience-hit", "0.5"};
  std::vector<std::string> prepare = workload;
  prepare.insert(prepare.end(), {"--write-config", config, "--fill-store", data});
  std::string err;
  REQUIRE(run(prepare, nullptr, &err) == 0);

  std::ostringstream log;
  bidder::app::serve_options options;
  options.config_path = config;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = data;
  options.threads = 1;
  // No shedding (tested in tests/http): on a busy test machine a request may wait over 1 ms.
  options.shed_queued = std::chrono::microseconds(0);
  options.shed_busy_share = 0;
  auto svc = bidder::app::service::start(options, log);
  INFO(log.str());
  REQUIRE(svc);

  std::vector<std::string> args = workload;
  args.insert(args.end(),
              {"--target", "http://127.0.0.1:" + std::to_string((*svc)->bid_port()) + "/bid",
               "--rate", "2000", "--duration", "2s", "--warmup", "0", "--connections", "8",
               "--pool", "2000", "--json", report, "--check", "5xx=0,errors=0,timeouts=0,4xx=0",
               "--server-pid", std::to_string(::getpid())});
  std::string out;
  const int rc = run(args, &out, &err);
  INFO(out << err);
  CHECK(rc == 0);

  const json::object doc = read_json(report);
  const auto& counts = doc.at("runs").as_array().at(0).as_object().at("counts").as_object();
  const std::uint64_t sent = u64(counts.at("sent"));
  const std::uint64_t bids = u64(counts.at("bids_200"));
  const std::uint64_t no_bids = u64(counts.at("no_bids_204"));
  CHECK(u64(counts.at("scheduled")) == 4000);
  CHECK(sent == 4000);
  CHECK(sent == bids + no_bids + u64(counts.at("client_errors_4xx")) +
                    u64(counts.at("server_errors_5xx")) + u64(counts.at("other_status")) +
                    u64(counts.at("connection_errors")) + u64(counts.at("timeouts")));
  // The generated traffic meets real matching work: both bids and no-bids.
  CHECK(bids > sent / 10);
  CHECK(no_bids > sent / 20);

  // The server saw exactly what bidbench counted, and the audience was found.
  const std::string metrics = http_get((*svc)->admin_port(), "/metrics");
  INFO(metrics);
  CHECK(sample(metrics, "bidder_requests_total") == static_cast<double>(sent));
  CHECK(sample(metrics, "bidder_bids_total") == static_cast<double>(bids));
  // Half of the requests come from known users (--audience-hit 0.5).
  const double found = sample(metrics, "bidder_audience_lookups_total{result=\"found\"}") +
                       sample(metrics, "bidder_audience_lookups_total{result=\"not_in_memory\"}");
  CHECK(found >= 0.4 * static_cast<double>(sent));
  CHECK(found <= 0.6 * static_cast<double>(sent));

  // The report names what was measured: bidbench's own commit (built in) and the server's
  // executable (here this test binary, which serves in-process).
  const auto& build = doc.at("build").as_object();
  CHECK(build.at("commit").as_string() == bidder::build_commit());
  const auto& target = doc.at("config").at("targets").as_array().at(0).as_object();
  CHECK(target.at("server_executable").as_string() == fs::read_symlink("/proc/self/exe").string());
  (*svc)->stop(std::chrono::seconds(2));
}
