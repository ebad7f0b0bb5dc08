#include "bidder/browsing/rules.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bidder/browsing/url.hpp"

namespace {

using bidder::browsing::canonical_host;
using bidder::browsing::canonical_url;
using bidder::browsing::event_view;
using bidder::browsing::rule;
using bidder::browsing::rule_set;
namespace v1 = bidder::config::v1;

std::string canonical(std::string_view url) {
  std::string out;
  return canonical_url(url, out) ? out : "<none>";
}

// auto-site-visitor: pages under example-auto.com/models/; recent-buyer: purchases, 30 days;
// shop-any: anything on shop.example or its subdomains from source "shop".
v1::AudienceEvents config() {
  v1::AudienceEvents c;
  c.add_sources()->set_id("auto");
  c.add_sources()->set_id("shop");
  auto* r = c.add_rules();
  r->set_id("visitors");
  r->set_segment("auto-site-visitor");
  r->add_url_prefixes("example-auto.com/models/");
  r = c.add_rules();
  r->set_id("buyers");
  r->set_segment("recent-buyer");
  r->set_ttl_days(30);
  r->add_actions("purchase");
  r = c.add_rules();
  r->set_id("shop");
  r->set_segment("shop-any");
  r->add_sources("shop");
  r->add_hosts("Shop.Example");
  return c;
}

std::vector<std::string> segments_of(const rule_set& rules, const event_view& e) {
  std::vector<std::string> out;
  std::string scratch;
  rules.match(e, scratch, [&](const rule& r) { out.push_back(r.segment); });
  return out;
}

}  // namespace

TEST_CASE("urls are compared without scheme, port, www. or the host's case", "[browsing][unit]") {
  CHECK(canonical("HTTPS://WWW.Example-Auto.com:443/models/x?y#z") ==
        "example-auto.com/models/x?y");
  CHECK(canonical("http://example-auto.com") == "example-auto.com/");
  CHECK(canonical("//example-auto.com/Models/") == "example-auto.com/Models/");
  CHECK(canonical("example-auto.com?q=1") == "example-auto.com/?q=1");
  CHECK(canonical("https://user:pw@example-auto.com./a") == "example-auto.com/a");
  CHECK(canonical("https:///nohost") == "<none>");
  CHECK(canonical_host("Example-Auto.com.") == "example-auto.com");
}

TEST_CASE("a url prefix rule matches any scheme and host case, and only its path",
          "[browsing][unit]") {
  const rule_set rules = rule_set::compile(config());
  using list = std::vector<std::string>;
  CHECK(segments_of(rules, {.source = "auto",
                            .action = "page_view",
                            .url = "https://Example-Auto.com/models/suv-9"}) ==
        list{"auto-site-visitor"});
  CHECK(segments_of(rules, {.source = "auto",
                            .action = "page_view",
                            .url = "http://www.example-auto.com/models/"}) ==
        list{"auto-site-visitor"});
  // The path is compared as written, and another host never matches.
  CHECK(segments_of(
            rules,
            {.source = "auto", .action = "page_view", .url = "https://example-auto.com/Models/suv"})
            .empty());
  CHECK(segments_of(rules, {.source = "auto",
                            .action = "page_view",
                            .url = "https://example-auto.com.evil.example/models/"})
            .empty());
  CHECK(
      segments_of(
          rules, {.source = "auto", .action = "page_view", .url = "https://example-auto.com/blog/"})
          .empty());
}

TEST_CASE("rules match on action, source and host, each condition required", "[browsing][unit]") {
  const rule_set rules = rule_set::compile(config());
  using list = std::vector<std::string>;
  CHECK(segments_of(rules, {.source = "auto",
                            .action = "purchase",
                            .url = "https://example-auto.com/models/checkout"}) ==
        list{"auto-site-visitor", "recent-buyer"});
  CHECK(segments_of(rules, {.source = "shop", .action = "page_view", .site = "WWW.shop.example"}) ==
        list{"shop-any"});
  CHECK(segments_of(rules,
                    {.source = "shop", .action = "page_view", .url = "https://m.shop.example/x"}) ==
        list{"shop-any"});
  // The shop rule wants source "shop".
  CHECK(segments_of(rules, {.source = "auto", .action = "page_view", .site = "shop.example"})
            .empty());
  // A host rule does not match a host that merely ends with the domain's letters.
  CHECK(segments_of(rules, {.source = "shop", .action = "page_view", .site = "myshop.example"})
            .empty());
  // A url prefix rule needs a url: a site alone does not match it.
  CHECK(segments_of(rules, {.source = "auto", .action = "page_view", .site = "example-auto.com"})
            .empty());
}

TEST_CASE("a rule's ttl gives the membership's expiry from the event's time", "[browsing][unit]") {
  const rule_set rules = rule_set::compile(config());
  CHECK(bidder::browsing::expiry_of(rules.rules()[0], 1000) == 0);
  CHECK(bidder::browsing::expiry_of(rules.rules()[1], 1000) == 1000 + 30 * 86'400);
  REQUIRE(rules.find_source("auto") != nullptr);
  CHECK(rules.find_source("auto")->max_per_second == 1000);
  CHECK(rules.find_source("nope") == nullptr);
}
