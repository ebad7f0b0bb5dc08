#include "bidder/engine/targeting_index.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bidder/config/loader.hpp"
#include "bidder/core/sorted_lists.hpp"
#include "bidder/engine/snapshot.hpp"
#include "models/builtin.hpp"
#include "tests/support/snapshot.hpp"

// The targeting index must select exactly the campaigns the campaign rules select. A naive
// per-campaign reference (the rules as the config documents them) is compared with the index
// over thousands of seeded random campaigns and requests, and the auction's early stop is
// checked against campaigns ordered against it.

namespace {

using bidder::engine::campaign_set;
using bidder::engine::compiled_campaign;
using bidder::engine::snapshot;
namespace openrtb = bidder::openrtb;

std::shared_ptr<const snapshot> build(const std::string& json) {
  return bidder::test::compile_config(json);
}

// Value pools small enough that random campaigns and requests often meet.
const std::vector<std::string> countries{"USA", "CAN", "GBR"};
const std::vector<std::string> regions{"CA", "NY", "TX"};
const std::vector<std::string> zips{"90210", "10001"};
const std::vector<std::string> os_names{"iOS", "Android", "ios"};
const std::vector<int> device_types{1, 2, 4, 5};
const std::vector<std::string> sites{"example.com", "news.example.com", "other.org",
                                     "a.b.other.org"};
const std::vector<std::string> bundles{"com.a", "com.b"};
const std::vector<std::string> categories{"IAB1", "IAB1-2", "IAB2", "IAB2-3"};
const std::vector<std::string> advertisers{"brand.com", "shop.brand.com", "x.org"};

struct random_source {
  std::mt19937_64 rng;
  explicit random_source(std::uint64_t seed) : rng(seed) {}
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng() % n); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  template <class T>
  const T& pick(const std::vector<T>& pool) {
    return pool[below(pool.size())];
  }
  // A JSON list of 1-2 values from the pool.
  template <class T>
  std::string list(const std::vector<T>& pool) {
    std::string out = "[";
    const std::size_t n = 1 + below(2);
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) out += ",";
      if constexpr (std::is_same_v<T, int>) {
        out += std::to_string(pick(pool));
      } else {
        out += "\"" + pick(pool) + "\"";
      }
    }
    return out + "]";
  }
};

std::string random_config(random_source& r, int campaigns) {
  std::string json =
      R"({"notice_base_url": "https://bid.example", "currency_rates": {"EUR": 0.9}, "campaigns": [)";
  for (int i = 0; i < campaigns; ++i) {
    std::string t;
    auto add = [&](const char* key, const std::string& value) {
      t += std::string(t.empty() ? "" : ",") + "\"" + key + "\":" + value;
    };
    if (r.chance(30)) add("countries", r.list(countries));
    if (r.chance(20)) add("regions", r.list(regions));
    if (r.chance(15)) add("zips", r.list(zips));
    if (r.chance(20)) add("os", r.list(os_names));
    if (r.chance(25)) add("device_types", r.list(device_types));
    if (r.chance(15)) add("site_domains_allow", r.list(sites));
    if (r.chance(15)) add("site_domains_block", r.list(sites));
    if (r.chance(10)) add("app_bundles_allow", r.list(bundles));
    if (r.chance(10)) add("app_bundles_block", r.list(bundles));
    if (r.chance(15)) add("audience", R"({"all_of": [{"segment": "s1"}]})");
    std::string c = "{\"id\":\"c" + std::to_string(i) + "\",\"status\":\"" +
                    (r.chance(90) ? "ACTIVE" : "PAUSED") +
                    "\",\"advertiser_domains\":" + r.list(advertisers) +
                    ",\"max_cpm\":" + std::to_string(1 + r.below(20));
    if (r.chance(70)) c += ",\"categories\":" + r.list(categories);
    if (r.chance(20)) c += ",\"advertised_app_bundle\":\"" + r.pick(bundles) + "\"";
    if (r.chance(10)) c += ",\"currency\":\"EUR\"";
    c += ",\"targeting\":{" + t + "}";
    c += R"(,"creatives":[{"id":"cr","markup":"m","banner":{"sizes":[{"w":300,"h":250}]}}])";
    c +=
        R"(,"pricing":{"name":"fixed","config":{"@type":"type.googleapis.com/bidder.models.fixed.v1.FixedConfig","cpm":0.5}}})";
    json += (i > 0 ? "," : "") + c;
  }
  return json + "]}";
}

// The request's fields point into these strings, which outlive it.
void random_request(random_source& r, openrtb::bid_request& request) {
  static const std::vector<std::string> empty_or_country{"", "USA", "CAN", "GBR", "DEU"};
  static const std::vector<std::string> request_os{"", "iOS", "IOS", "android", "Windows"};
  static const std::vector<std::string> request_sites{
      "",          "example.com", "news.example.com", "www.example.com",
      "other.org", "b.other.org", "a.b.other.org"};
  static const std::vector<std::string> request_categories{"IAB1",   "IAB1-2",   "IAB1-3", "IAB2",
                                                           "IAB2-3", "IAB2-3-4", "IAB25"};
  static const std::vector<std::string> request_advertisers{
      "brand.com", "shop.brand.com", "other.brand.com", "x.org", "org", "rand.com"};
  request.reset();
  request.id = "r";
  request.country = r.pick(empty_or_country);
  request.region = r.chance(70) ? std::string_view(r.pick(regions)) : std::string_view();
  request.zip = r.chance(70) ? std::string_view(r.pick(zips)) : std::string_view();
  request.os = r.pick(request_os);
  request.devicetype = r.chance(80) ? r.pick(device_types) : 0;
  if (r.chance(50)) {
    request.inventory = openrtb::inventory_kind::site;
    request.domain = r.pick(request_sites);
  } else {
    request.inventory = openrtb::inventory_kind::app;
    request.bundle = r.chance(80) ? std::string_view(r.pick(bundles)) : std::string_view("com.z");
  }
  for (std::size_t n = r.below(3); n > 0; --n) request.bcat.push_back(r.pick(request_categories));
  request.cattax = r.chance(90) ? 1 : 2;
  for (std::size_t n = r.below(3); n > 0; --n) request.badv.push_back(r.pick(request_advertisers));
  for (std::size_t n = r.below(2); n > 0; --n) request.bapp.push_back(r.pick(bundles));
}

// The campaign rules, one campaign at a time, as config.proto documents them.
bool reference_eligible(const compiled_campaign& c, const openrtb::bid_request& request,
                        bool audience_allowed) {
  using bidder::domain_listed;
  using bidder::sorted_contains;
  if (!c.active) return false;
  if (!c.countries.empty() && !sorted_contains(c.countries, request.country)) return false;
  if (!c.regions.empty() && !sorted_contains(c.regions, request.region)) return false;
  if (!c.zips.empty() && !sorted_contains(c.zips, request.zip)) return false;
  if (!c.device_types.empty() && std::find(c.device_types.begin(), c.device_types.end(),
                                           request.devicetype) == c.device_types.end()) {
    return false;
  }
  if (!c.os_lower.empty()) {
    std::string os(request.os);
    for (char& ch : os) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!sorted_contains(c.os_lower, os)) return false;
  }
  const bool site = request.inventory == openrtb::inventory_kind::site;
  const bool app = request.inventory == openrtb::inventory_kind::app;
  if (!c.site_allow.empty() || !c.app_allow.empty()) {
    if (!(site && domain_listed(c.site_allow, request.domain)) &&
        !(app && sorted_contains(c.app_allow, request.bundle))) {
      return false;
    }
  }
  if (site && domain_listed(c.site_block, request.domain)) return false;
  if (app && sorted_contains(c.app_block, request.bundle)) return false;
  if (!request.bcat.empty() && request.cattax != 1 && !c.categories.empty()) return false;
  for (std::string_view blocked : request.bcat) {
    for (const std::string& cat : c.categories) {
      if (cat == blocked ||
          (cat.size() > blocked.size() && cat.starts_with(blocked) && cat[blocked.size()] == '-')) {
        return false;
      }
    }
  }
  for (std::string_view blocked : request.badv) {
    for (const std::string& d : c.advertiser_domains) {
      if (d == blocked || (d.size() > blocked.size() && d.ends_with(blocked) &&
                           d[d.size() - blocked.size() - 1] == '.')) {
        return false;
      }
    }
  }
  for (std::string_view blocked : request.bapp) {
    if (!c.advertised_bundle.empty() && c.advertised_bundle == blocked) return false;
  }
  return audience_allowed || !c.needs_audience;
}

}  // namespace

TEST_CASE("a campaign set keeps its bits within its size", "[engine][unit]") {
  campaign_set all(70, /*all=*/true);
  CHECK(all.all());
  campaign_set some(70);
  CHECK(some.none());
  some.set(0);
  some.set(64);
  some.set(69);
  std::vector<std::uint32_t> seen;
  some.for_each([&](std::uint32_t rank) {
    seen.push_back(rank);
    return true;
  });
  CHECK(seen == std::vector<std::uint32_t>{0, 64, 69});
  some.flip();  // 67 left, none past 69
  int count = 0;
  some.for_each([&](std::uint32_t rank) {
    CHECK(rank < 70);
    ++count;
    return true;
  });
  CHECK(count == 67);
  all.subtract(some);
  CHECK(all.test(64));
  CHECK_FALSE(all.test(1));
}

TEST_CASE("the targeting index selects exactly the campaigns the rules select", "[engine][unit]") {
  const std::uint64_t seed = GENERATE(1, 2, 3);
  random_source r(seed);
  const auto snap = build(random_config(r, 300));
  const auto& index = snap->targeting;
  REQUIRE(index.size() == snap->campaigns.size());
  openrtb::bid_request request;
  campaign_set eligible, scratch;
  int selected = 0, checked = 0;
  for (int i = 0; i < 2000; ++i) {
    random_request(r, request);
    const bool audience_allowed = r.chance(70);
    index.filter(request, 0, audience_allowed, eligible, scratch);
    for (std::uint32_t rank = 0; rank < index.size(); ++rank) {
      const compiled_campaign& c = snap->campaigns[index.campaign_at(rank)];
      const bool expected = reference_eligible(c, request, audience_allowed);
      if (eligible.test(rank) != expected) {
        FAIL_CHECK("seed " << seed << " request " << i << " campaign " << c.id << ": index says "
                           << eligible.test(rank) << ", rules say " << expected);
      }
      selected += expected ? 1 : 0;
      ++checked;
    }
  }
  // The random world must really exercise both outcomes.
  CHECK(selected > checked / 20);
  CHECK(selected < checked / 2);
}

TEST_CASE("campaigns are ranked by the most they can bid, in USD", "[engine][unit]") {
  // "cheap-cap" may bid up to 20 but its model never quotes above 1; "eur" caps at 9 EUR = 10
  // USD; "mid" quotes 4 under a cap of 5.
  const auto snap = build(R"({"currency_rates": {"EUR": 0.9}, "campaigns": [
    {"id": "cheap-cap", "status": "ACTIVE", "advertiser_domains": ["a.com"], "max_cpm": 20,
     "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
     "pricing": {"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1}}},
    {"id": "mid", "status": "ACTIVE", "advertiser_domains": ["b.com"], "max_cpm": 5,
     "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
     "pricing": {"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 4}}},
    {"id": "eur", "status": "ACTIVE", "advertiser_domains": ["c.com"], "max_cpm": 9,
     "currency": "EUR",
     "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
     "pricing": {"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 30}}}
  ]})");
  const auto& index = snap->targeting;
  REQUIRE(index.size() == 3);
  CHECK(snap->campaigns[index.campaign_at(0)].id == "eur");
  CHECK(index.price_ceiling_usd(0) == Approx(10));
  CHECK(snap->campaigns[index.campaign_at(1)].id == "mid");
  CHECK(index.price_ceiling_usd(1) == Approx(4));
  CHECK(snap->campaigns[index.campaign_at(2)].id == "cheap-cap");
  CHECK(index.price_ceiling_usd(2) == Approx(1));
}

TEST_CASE("slot candidates follow the imp's media, sizes and deals", "[engine][unit]") {
  const auto snap = build(R"({"campaigns": [
    {"id": "banner", "status": "ACTIVE", "advertiser_domains": ["a.com"], "max_cpm": 5,
     "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
     "pricing": {"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1}}},
    {"id": "deal", "status": "ACTIVE", "advertiser_domains": ["b.com"], "max_cpm": 4,
     "targeting": {"deal_ids": ["d1"]},
     "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 728, "h": 90}]}}],
     "pricing": {"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1}}},
    {"id": "video", "status": "ACTIVE", "advertiser_domains": ["c.com"], "max_cpm": 3,
     "creatives": [{"id": "c", "markup": "<VAST/>", "video": {"mimes": ["video/mp4"], "duration_seconds": 15}}],
     "pricing": {"name": "fixed", "config": {"@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1}}}
  ]})");
  const auto& index = snap->targeting;
  campaign_set all(index.size(), /*all=*/true), out;
  auto ids = [&](const campaign_set& s) {
    std::vector<std::string> names;
    s.for_each([&](std::uint32_t rank) {
      names.push_back(snap->campaigns[index.campaign_at(rank)].id);
      return true;
    });
    return names;
  };
  openrtb::imp imp;
  imp.banner.present = true;
  imp.banner.formats.push_back({300, 250});
  imp.banner.formats.push_back({728, 90});
  index.slot_candidates(imp, all, out);
  CHECK(ids(out) == std::vector<std::string>{"banner"});  // no deal in the imp
  imp.deals.emplace().id = "d1";
  index.slot_candidates(imp, all, out);
  CHECK(ids(out) == std::vector<std::string>{"banner", "deal"});
  imp.private_auction = true;
  index.slot_candidates(imp, all, out);
  CHECK(ids(out) == std::vector<std::string>{"deal"});
  imp.video.present = true;
  imp.private_auction = false;
  index.slot_candidates(imp, all, out);
  CHECK(ids(out) == std::vector<std::string>{"banner", "deal", "video"});
  openrtb::imp none;
  none.banner.present = true;
  none.banner.formats.push_back({1, 1});
  index.slot_candidates(none, all, out);
  CHECK(out.none());
}
