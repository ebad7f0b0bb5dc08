#include "bidder/engine/targeting_index.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <numeric>

#include "bidder/engine/snapshot.hpp"

namespace bidder::engine {
namespace {

std::uint64_t size_key(std::int32_t w, std::int32_t h) noexcept { return snapshot::size_key(w, h); }

// Calls fn(d) for `domain` and each parent domain: "a.b.com", "b.com", "com".
template <class Fn>
void for_each_domain_level(std::string_view domain, Fn&& fn) {
  if (domain.empty()) return;
  fn(domain);
  for (std::size_t dot = domain.find('.'); dot != std::string_view::npos;
       dot = domain.find('.', dot + 1)) {
    fn(domain.substr(dot + 1));
  }
}

// Calls fn(c) for `category` and each parent: "IAB1-2-3", "IAB1-2", "IAB1" (a bcat entry
// blocks its subcategories).
template <class Fn>
void for_each_category_level(std::string_view category, Fn&& fn) {
  if (category.empty()) return;
  fn(category);
  for (std::size_t dash = category.rfind('-'); dash != std::string_view::npos && dash > 0;
       dash = category.rfind('-', dash - 1)) {
    fn(category.substr(0, dash));
  }
}

void add_rank(std::vector<std::uint32_t>& list, std::uint32_t rank) {
  if (list.empty() || list.back() != rank) list.push_back(rank);
}

// The ranks listed under `value`, or null: one call for both kinds of allow_rule::listed.
template <class Value>
const std::vector<std::uint32_t>* find_listed(const flat_string_map<std::vector<std::uint32_t>>& m,
                                              const Value& value) noexcept {
  return m.find(value);
}
template <class Key, class Value>
const std::vector<std::uint32_t>* find_listed(
    const std::unordered_map<Key, std::vector<std::uint32_t>>& m, const Value& value) {
  auto it = m.find(value);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace

template <class Key, class Lookup>
void targeting_index::apply(const allow_rule<Key>& rule, const Lookup& value, campaign_set& out,
                            campaign_set& scratch) {
  if (!rule.used) return;
  const ranks* listed = find_listed(rule.listed, value);
  if (listed == nullptr) {
    out &= rule.unrestricted;
    return;
  }
  scratch = rule.unrestricted;
  for (std::uint32_t rank : *listed) scratch.set(rank);
  out &= scratch;
}

void targeting_index::remove(const block_rule& rule, std::string_view value, campaign_set& out) {
  if (rule.empty()) return;
  const ranks* listed = rule.find(value);
  if (listed == nullptr) return;
  for (std::uint32_t rank : *listed) out.reset(rank);
}

targeting_index targeting_index::build(const std::vector<compiled_campaign>& campaigns,
                                       const std::vector<compiled_creative>& creatives) {
  targeting_index index;
  const std::size_t n = campaigns.size();
  index.price_ceiling_usd_.resize(n);
  std::vector<double> max_usd(n);
  for (std::size_t i = 0; i < n; ++i) {
    const compiled_campaign& c = campaigns[i];
    // No bid of the campaign goes above its max CPM, nor above its models' ceilings (its own,
    // and its experiment arms').
    const money ceiling = c.model != nullptr
                              ? std::min(c.max_cpm, std::max(c.model->ceiling(), c.arms_ceiling))
                              : c.max_cpm;
    max_usd[i] = c.rate_per_usd > 0 ? ceiling.units() / c.rate_per_usd
                                    : std::numeric_limits<double>::infinity();
  }
  index.by_rank_.resize(n);
  std::iota(index.by_rank_.begin(), index.by_rank_.end(), 0u);
  std::stable_sort(index.by_rank_.begin(), index.by_rank_.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return max_usd[a] > max_usd[b]; });

  auto start_allow = [n](auto& rule) { rule.unrestricted.resize(n, /*all=*/true); };
  start_allow(index.countries_);
  start_allow(index.regions_);
  start_allow(index.zips_);
  start_allow(index.os_);
  start_allow(index.device_types_);
  index.active_.resize(n);
  index.no_allow_list_.resize(n, /*all=*/true);
  index.with_categories_.resize(n);
  index.needs_audience_.resize(n);
  index.video_.resize(n);
  index.audio_.resize(n);
  index.native_.resize(n);
  index.deal_only_.resize(n);

  auto restrict = [](auto& rule, std::uint32_t rank, const auto& values) {
    if (values.empty()) return;
    rule.used = true;
    rule.unrestricted.reset(rank);
    for (const auto& v : values) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
        if (v.empty()) continue;  // an empty request value matches no list
      }
      add_rank(rule.listed[v], rank);
    }
  };

  for (std::uint32_t rank = 0; rank < n; ++rank) {
    const compiled_campaign& c = campaigns[index.by_rank_[rank]];
    index.price_ceiling_usd_[rank] = max_usd[index.by_rank_[rank]];
    if (c.active) index.active_.set(rank);
    if (c.exchange_mask != ~std::uint64_t{0} && index.by_exchange_.empty()) {
      index.by_exchange_.assign(64, campaign_set(n, /*all=*/true));
    }
    restrict(index.countries_, rank, c.countries);
    restrict(index.regions_, rank, c.regions);
    restrict(index.zips_, rank, c.zips);
    restrict(index.os_, rank, c.os_lower);
    restrict(index.device_types_, rank, c.device_types);
    if (!c.site_allow.empty() || !c.app_allow.empty()) {
      index.allow_lists_used_ = true;
      index.no_allow_list_.reset(rank);
      for (const std::string& d : c.site_allow) add_rank(index.site_allow_[d], rank);
      for (const std::string& b : c.app_allow) add_rank(index.app_allow_[b], rank);
    }
    for (const std::string& d : c.site_block) add_rank(index.site_block_[d], rank);
    for (const std::string& b : c.app_block) add_rank(index.app_block_[b], rank);
    if (!c.categories.empty()) index.with_categories_.set(rank);
    for (const std::string& category : c.categories) {
      for_each_category_level(category, [&](std::string_view level) {
        add_rank(index.categories_[std::string(level)], rank);
      });
    }
    for (const std::string& domain : c.advertiser_domains) {
      for_each_domain_level(domain, [&](std::string_view level) {
        add_rank(index.advertisers_[std::string(level)], rank);
      });
    }
    if (!c.advertised_bundle.empty()) add_rank(index.bundles_[c.advertised_bundle], rank);
    if (c.needs_audience) index.needs_audience_.set(rank);
    if (!c.deal_ids.empty()) index.deal_only_.set(rank);
    for (const compiled_campaign::banner_size& size : c.banner_sizes) {
      campaign_set& sized = index.banner_by_size_[size_key(size.w, size.h)];
      if (sized.size() != n) sized.resize(n);
      sized.set(rank);
    }
    for (std::uint32_t creative_index : c.creatives) {
      const compiled_creative& creative = creatives[creative_index];
      switch (creative.media) {
        case media_kind::banner:
          break;  // by size, above
        case media_kind::video:
          index.video_.set(rank);
          break;
        case media_kind::audio:
          index.audio_.set(rank);
          break;
        case media_kind::native:
          index.native_.set(rank);
          break;
      }
    }
  }
  if (!index.by_exchange_.empty()) {
    for (std::uint32_t rank = 0; rank < n; ++rank) {
      const std::uint64_t mask = campaigns[index.by_rank_[rank]].exchange_mask;
      for (std::uint32_t e = 0; e < 64; ++e) {
        if (((mask >> e) & 1) == 0) index.by_exchange_[e].reset(rank);
      }
    }
  }
  return index;
}

void targeting_index::filter(const openrtb::bid_request& request, std::uint32_t exchange,
                             bool audience_allowed, campaign_set& out,
                             campaign_set& scratch) const {
  if (scratch.size() != size()) scratch.resize(size());
  out = active_;
  if (!by_exchange_.empty() && exchange < by_exchange_.size()) out &= by_exchange_[exchange];
  apply(countries_, request.country, out, scratch);
  apply(regions_, request.region, out, scratch);
  apply(zips_, request.zip, out, scratch);
  apply(device_types_, request.devicetype, out, scratch);
  if (os_.used) {
    // Campaign OS names are compiled lower-case; the request's is folded alike.
    char lower[64];
    const std::string_view os = request.os;
    if (os.empty() || os.size() > sizeof lower) {
      out &= os_.unrestricted;
    } else {
      for (std::size_t i = 0; i < os.size(); ++i) {
        lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(os[i])));
      }
      apply(os_, std::string_view(lower, os.size()), out, scratch);
    }
  }

  const bool is_site = request.inventory == openrtb::inventory_kind::site;
  const bool is_app = request.inventory == openrtb::inventory_kind::app;
  if (allow_lists_used_) {
    scratch = no_allow_list_;
    auto allow = [&](const flat_string_map<ranks>& list, std::string_view value) {
      if (value.empty()) return;
      if (const ranks* listed = list.find(value)) {
        for (std::uint32_t rank : *listed) scratch.set(rank);
      }
    };
    if (is_site) {
      for_each_domain_level(request.domain, [&](std::string_view d) { allow(site_allow_, d); });
    }
    if (is_app) allow(app_allow_, request.bundle);
    out &= scratch;
  }
  if (is_site) {
    for_each_domain_level(request.domain, [&](std::string_view d) { remove(site_block_, d, out); });
  }
  if (is_app && !request.bundle.empty()) remove(app_block_, request.bundle, out);

  // Our categories are IAB 1.0; a bcat in another taxonomy cannot be checked against them, so
  // a campaign that declares categories stays out rather than risk a blocked one.
  if (!request.bcat.empty() && request.cattax != 1) out.subtract(with_categories_);
  for (std::string_view blocked : request.bcat) remove(categories_, blocked, out);
  for (std::string_view blocked : request.badv) remove(advertisers_, blocked, out);
  for (std::string_view blocked : request.bapp) remove(bundles_, blocked, out);
  if (!audience_allowed) out.subtract(needs_audience_);
}

void targeting_index::slot_candidates(const openrtb::imp& imp, const campaign_set& eligible,
                                      campaign_set& out) const {
  if (out.size() != size()) out.resize(size());
  bool any = false;
  auto add = [&](const campaign_set& media) {
    if (!any) {
      out = media;
      any = true;
    } else {
      out |= media;
    }
  };
  if (imp.banner.present) {
    for (const openrtb::format& f : imp.banner.formats) {
      if (auto it = banner_by_size_.find(size_key(f.w, f.h)); it != banner_by_size_.end()) {
        add(it->second);
      }
    }
  }
  if (imp.video.present) add(video_);
  if (imp.audio.present) add(audio_);
  if (imp.native.present) add(native_);
  if (!any) {
    out.resize(size());
    return;
  }
  out &= eligible;
  // A deal-only campaign needs one of the imp's deals; a private auction has no open market.
  if (imp.private_auction) {
    out &= deal_only_;
  } else if (imp.deals.empty()) {
    out.subtract(deal_only_);
  }
}

}  // namespace bidder::engine
