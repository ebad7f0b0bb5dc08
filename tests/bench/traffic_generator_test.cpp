// Tests of bench/load/traffic_generator: seeded reproducibility, the audience hit rate, that
// every request decodes with the bidder's own decoder, and that the written config passes
// `bidder check-config`.
#include "bench/load/traffic_generator.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "bidder/app/service.hpp"
#include "bidder/openrtb/json_decoder.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using bidder::bench::traffic_generator;
using bidder::bench::traffic_options;

namespace {

// This file's temporary directories.
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidbench-test") {}
};

std::string user_id_of(const std::string& request) {
  const auto doc = boost::json::parse(request).as_object();
  return std::string(doc.at("user").as_object().at("id").as_string());
}

}  // namespace

TEST_CASE("equal seeds give identical traffic, config and audience", "[bench][unit]") {
  traffic_generator a({.seed = 7, .users = 500, .campaigns = 20});
  traffic_generator b({.seed = 7, .users = 500, .campaigns = 20});
  traffic_generator c({.seed = 8, .users = 500, .campaigns = 20});
  bool all_equal = true;
  bool any_differs_from_c = false;
  for (int i = 0; i < 300; ++i) {
    const std::string ra = a.next_request();
    all_equal = all_equal && ra == b.next_request();
    any_differs_from_c = any_differs_from_c || ra != c.next_request();
  }
  CHECK(all_equal);
  CHECK(any_differs_from_c);
  CHECK(a.config_json() == b.config_json());
  CHECK(a.config_json() != c.config_json());
  for (std::uint64_t i = 0; i < 50; ++i) {
    const auto ma = a.member(i, 1'800'000'000);
    const auto mb = b.member(i, 1'800'000'000);
    REQUIRE(ma.key == mb.key);
    REQUIRE(ma.segments.size() == mb.segments.size());
    REQUIRE(ma.key.rfind("user:", 0) == 0);
  }
  // Known ids are distinct (a bijection of the index) and differ between seeds.
  std::set<std::string> ids;
  for (std::uint64_t i = 0; i < 500; ++i) ids.insert(a.known_user_id(i));
  CHECK(ids.size() == 500);
  CHECK(a.known_user_id(0) != c.known_user_id(0));
}

TEST_CASE("the share of requests with a known user matches --audience-hit", "[bench][unit]") {
  const double hit = GENERATE(0.0, 0.3, 0.9);
  traffic_generator gen({.seed = 11, .audience_hit = hit, .users = 2000});
  std::set<std::string> known;
  for (std::uint64_t i = 0; i < 2000; ++i) known.insert(gen.known_user_id(i));
  const int n = 20000;
  int hits = 0;
  int flagged = 0;
  for (int i = 0; i < n; ++i) {
    bool is_known = false;
    const std::string request = gen.next_request(&is_known);
    const bool in_audience = known.count(user_id_of(request)) == 1;
    REQUIRE(in_audience == is_known);
    hits += in_audience ? 1 : 0;
    flagged += is_known ? 1 : 0;
  }
  INFO("hit " << hit << " measured " << static_cast<double>(hits) / n);
  // 20,000 draws: the standard error is at most 0.0036; 0.015 is over 4 sigma.
  CHECK(std::abs(static_cast<double>(hits) / n - hit) < 0.015);
}

TEST_CASE("every generated request decodes with the bidder's decoder", "[bench][unit]") {
  traffic_generator gen({.seed = 3, .users = 100});
  bidder::openrtb::json_decoder decoder;
  bidder::openrtb::bid_request request;
  int sites = 0;
  int apps = 0;
  int videos = 0;
  int natives = 0;
  int deals = 0;
  int multi_imp = 0;
  int gdpr = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string body = gen.next_request();
    auto decoded = decoder.decode(body, request);
    INFO(body);
    REQUIRE(decoded);
    REQUIRE(!request.imps.empty());
    REQUIRE(request.imps.size() <= 3);
    REQUIRE(request.tmax_ms == 100);
    sites += request.inventory == bidder::openrtb::inventory_kind::site ? 1 : 0;
    apps += request.inventory == bidder::openrtb::inventory_kind::app ? 1 : 0;
    multi_imp += request.imps.size() > 1 ? 1 : 0;
    gdpr += request.gdpr.value_or(false) ? 1 : 0;
    for (const auto& imp : request.imps) {
      videos += imp.video.present ? 1 : 0;
      natives += imp.native.present ? 1 : 0;
      deals += imp.deals.empty() ? 0 : 1;
    }
  }
  // The mix the generator promises is there.
  CHECK(sites > 1000);
  CHECK(apps > 600);
  CHECK(videos > 300);
  CHECK(natives > 200);
  CHECK(deals > 200);
  CHECK(multi_imp > 600);
  CHECK(gdpr > 300);
}

TEST_CASE("the written config passes bidder check-config", "[bench][unit]") {
  temp_dir dir;
  const std::size_t campaigns = GENERATE(1, 10, 1000);
  traffic_generator gen({.seed = 5, .campaigns = campaigns});
  const std::string path = (dir.path / "campaigns.json").string();
  REQUIRE(gen.write_config(path));
  auto checked = bidder::app::check_config(path);
  INFO((checked ? *checked : checked.error().message));
  REQUIRE(checked);
  CHECK(checked->find(std::to_string(campaigns) + " campaigns") != std::string::npos);
}

TEST_CASE("the audience files list every membership once, one key per line", "[bench][unit]") {
  temp_dir dir;
  traffic_generator gen({.seed = 9, .users = 300, .segment_count = 8});
  const std::int64_t now = 1'800'000'000;
  auto lines = gen.write_audience(dir.path.string(), now);
  REQUIRE(lines.has_value());
  std::uint64_t expected = 0;
  gen.for_each_member(now, [&](const auto& m) { expected += m.segments.size(); });
  CHECK(*lines == expected);
  std::uint64_t counted = 0;
  for (std::size_t s = 0; s < 8; ++s) {
    std::ifstream in(dir.path / (gen.segment_name(s) + ".txt"));
    REQUIRE(in);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      REQUIRE(line.rfind("user:", 0) == 0);
      const auto tab = line.find('\t');
      REQUIRE(tab != std::string::npos);
      const long long seen = std::stoll(line.substr(tab + 1));
      REQUIRE(seen <= now);
      REQUIRE(seen > now - 47 * 86400);
      ++counted;
    }
  }
  CHECK(counted == expected);
}
