// libFuzzer target: what browsing events read from outside (bidder/browsing): POST
// /admin/events bodies (ingest_events over any bytes, every written membership re-checked,
// the counts adding up) and page urls (canonical_url, whose output must be stable).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/browsing/ingest.hpp"
#include "bidder/browsing/url.hpp"
#include "bidder/core/names.hpp"

using namespace bidder::browsing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr bidder::unix_seconds now = 1'796'500'000;
  static const rule_set rules = [] {
    bidder::config::v1::AudienceEvents c;
    c.add_sources()->set_id("auto");
    auto* r = c.add_rules();
    r->set_id("visitors");
    r->set_segment("auto-site-visitor");
    r->add_url_prefixes("example-auto.com/models/");
    r = c.add_rules();
    r->set_id("buyers");
    r->set_segment("recent-buyer");
    r->set_ttl_days(30);
    r->add_actions("purchase");
    r->add_hosts("example-auto.com");
    return rule_set::compile(c);
  }();

  std::vector<bidder::audience::event_membership> writes;
  bool admit = false;
  const ingest_result r = ingest_events(
      in, now, rules, [&](std::string_view) { return admit = !admit; }, writes);
  if (r.memberships != writes.size()) std::abort();
  if (r.problems.size() > r.refused || r.problems.size() > 100) std::abort();
  std::uint64_t by_reason = 0;
  for (std::uint64_t n : r.refused_by) by_reason += n;
  if (by_reason != r.refused) std::abort();
  for (const auto& m : writes) {
    if (m.user_key.empty() || !bidder::is_url_safe_name(m.segment)) std::abort();
    if (m.last_seen > now + max_event_future_seconds) std::abort();
  }
  (void)to_json(r);

  std::string once, twice;
  if (canonical_url(in, once)) {
    if (!canonical_url(once, twice)) std::abort();
    if (host_of_canonical(once).empty()) std::abort();
  }
  return 0;
}
