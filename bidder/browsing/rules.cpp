#include "bidder/browsing/rules.hpp"

#include <algorithm>

#include "bidder/browsing/url.hpp"

namespace bidder::browsing {
namespace {

bool listed(const std::vector<std::string>& list, std::string_view value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

rule_set rule_set::compile(const config::v1::AudienceEvents& config) {
  rule_set out;
  for (const auto& s : config.sources()) {
    out.sources_.push_back({s.id(), s.max_per_second() > 0 ? s.max_per_second() : 1000});
  }
  std::sort(out.sources_.begin(), out.sources_.end(),
            [](const source_limit& a, const source_limit& b) { return a.id < b.id; });
  std::string canonical;
  for (const auto& r : config.rules()) {
    rule compiled;
    compiled.id = r.id();
    compiled.segment = r.segment();
    compiled.ttl_days = r.ttl_days();
    compiled.sources.assign(r.sources().begin(), r.sources().end());
    compiled.actions.assign(r.actions().begin(), r.actions().end());
    for (const auto& prefix : r.url_prefixes()) {
      if (canonical_url(prefix, canonical)) compiled.url_prefixes.push_back(canonical);
    }
    for (const auto& host : r.hosts()) compiled.hosts.push_back(canonical_host(host));
    out.rules_.push_back(std::move(compiled));
  }
  return out;
}

void rule_set::match(const event_view& e, std::string& scratch,
                     const std::function<void(const rule&)>& fn) const {
  bool canonical_done = false, have_url = false;
  std::string site_host;
  for (const rule& r : rules_) {
    if (!listed(r.sources, e.source) || !listed(r.actions, e.action)) continue;
    if (!r.url_prefixes.empty() || !r.hosts.empty()) {
      if (!canonical_done) {
        have_url = !e.url.empty() && canonical_url(e.url, scratch);
        if (!have_url && !e.site.empty()) site_host = canonical_host(e.site);
        canonical_done = true;
      }
      if (!r.url_prefixes.empty()) {
        if (!have_url) continue;
        const std::string_view url = scratch;
        if (std::none_of(r.url_prefixes.begin(), r.url_prefixes.end(),
                         [&](const std::string& p) { return url.starts_with(p); })) {
          continue;
        }
      }
      if (!r.hosts.empty()) {
        const std::string_view host = have_url ? host_of_canonical(scratch) : site_host;
        if (std::none_of(r.hosts.begin(), r.hosts.end(),
                         [&](const std::string& h) { return host_within(host, h); })) {
          continue;
        }
      }
    }
    fn(r);
  }
}

const source_limit* rule_set::find_source(std::string_view id) const noexcept {
  auto it = std::lower_bound(sources_.begin(), sources_.end(), id,
                             [](const source_limit& s, std::string_view k) { return s.id < k; });
  return it != sources_.end() && it->id == id ? &*it : nullptr;
}

unix_seconds expiry_of(const rule& r, unix_seconds at) noexcept {
  return r.ttl_days == 0 ? 0 : at + static_cast<unix_seconds>(r.ttl_days) * 86'400;
}

}  // namespace bidder::browsing
