// File: bidder/engine/targeting_index.hpp
//
// Which campaigns a request can reach, decided per targeting dimension with campaign sets
// (bitsets) built at load time, so the bid path's cost grows with the request's size and the
// number of campaigns that really match, not with the size of the campaign set.
//
// Campaigns are numbered by *rank*: descending price ceiling in USD, the lower of the max CPM
// and the pricing model's ceiling() (ties keep config order). An auction walks an imp's
// candidates in rank order and stops at the first campaign whose ceiling cannot beat the best
// price found so far.
//
// Request-level rules (filter): the exchange, status, geo (country, region, zip), device type,
// OS, site/app allow and block lists, bcat (with subcategories and cattax), badv (with
// subdomains), bapp and "no audience data allowed". Per imp (slot_candidates): media type and
// banner size, deals. Left to the auction per candidate: flight dates, audience conditions, spend,
// creative rules.
//
//   campaign_set eligible, scratch;
//   index.filter(request, exchange, audience_allowed, eligible, scratch);
//   index.slot_candidates(imp, eligible, slot);
//   slot.for_each([&](std::uint32_t rank) { use(index.campaign_at(rank)); return true; });
//
// Thread-safety: immutable after build; any number of threads may read it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bidder/core/flat_string_map.hpp"
#include "bidder/engine/campaign_set.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::engine {

struct compiled_campaign;
struct compiled_creative;

class targeting_index {
 public:
  /// Indexes `campaigns` (and their `creatives`); the vectors must be final.
  static targeting_index build(const std::vector<compiled_campaign>& campaigns,
                               const std::vector<compiled_creative>& creatives);

  std::size_t size() const noexcept { return by_rank_.size(); }
  /// The index into snapshot::campaigns of the campaign at `rank`.
  std::uint32_t campaign_at(std::uint32_t rank) const noexcept { return by_rank_[rank]; }
  /// The most the campaign at `rank` can bid, in USD (+infinity when its currency has no rate).
  double price_ceiling_usd(std::uint32_t rank) const noexcept { return price_ceiling_usd_[rank]; }

  /// `out` = the campaigns whose request-level rules `request`, from snapshot::exchanges
  /// [`exchange`], passes. `scratch` is working space; both are resized on first use, then
  /// reused without allocating.
  void filter(const openrtb::bid_request& request, std::uint32_t exchange, bool audience_allowed,
              campaign_set& out, campaign_set& scratch) const;
  /// `out` = the campaigns of `eligible` with a creative of the imp's media types (and, for
  /// banners, one of its sizes) that may bid on it given its deals and private_auction.
  void slot_candidates(const openrtb::imp& imp, const campaign_set& eligible,
                       campaign_set& out) const;

 private:
  using ranks = std::vector<std::uint32_t>;

  // A dimension campaigns may restrict to listed values ("countries: USA, CAN").
  template <class Key>
  struct allow_rule {
    bool used = false;          // some campaign restricts it
    campaign_set unrestricted;  // campaigns that do not
    std::conditional_t<std::is_same_v<Key, std::string>, flat_string_map<ranks>,
                       std::unordered_map<Key, ranks>>
        listed;  // value -> ranks of the campaigns that list it
  };
  // Values a request blocks ("bcat: IAB25"): value -> ranks of the campaigns it rules out.
  using block_rule = flat_string_map<ranks>;

  template <class Key, class Lookup>
  static void apply(const allow_rule<Key>& rule, const Lookup& value, campaign_set& out,
                    campaign_set& scratch);
  static void remove(const block_rule& rule, std::string_view value, campaign_set& out);

  ranks by_rank_;                          // rank -> campaign index
  std::vector<double> price_ceiling_usd_;  // by rank
  campaign_set active_;
  // By exchange index: the campaigns that bid there (empty: every campaign bids everywhere).
  std::vector<campaign_set> by_exchange_;
  allow_rule<std::string> countries_, regions_, zips_, os_;
  allow_rule<std::int32_t> device_types_;
  // Site/app allow lists: a campaign with either list needs the request's site (or a parent
  // domain) or app bundle on it.
  bool allow_lists_used_ = false;
  campaign_set no_allow_list_;
  flat_string_map<ranks> site_allow_, app_allow_;
  block_rule site_block_, app_block_;
  block_rule categories_;   // category and each parent ("IAB1" for "IAB1-2") -> campaigns
  block_rule advertisers_;  // domain and each parent domain -> campaigns
  block_rule bundles_;      // advertised app bundle -> campaigns
  campaign_set with_categories_;
  campaign_set needs_audience_;
  // Per slot.
  std::unordered_map<std::uint64_t, campaign_set> banner_by_size_;
  campaign_set video_, audio_, native_;
  campaign_set deal_only_;  // campaigns that bid only through their deals
};

}  // namespace bidder::engine
