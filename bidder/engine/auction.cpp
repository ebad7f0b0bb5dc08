#include "bidder/engine/auction.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "bidder/core/sorted_lists.hpp"
#include "bidder/engine/request_user_keys.hpp"
#include "bidder/expression/program.hpp"
#include "bidder/notice/notice_url.hpp"
#include "bidder/privacy/tcf_consent.hpp"

namespace bidder::engine {
namespace {

template <class List>
bool list_has(const List& list, std::string_view value) {
  for (std::string_view item : list) {
    if (item == value) return true;
  }
  return false;
}

bool attributes_blocked(const reuse_vector<std::int32_t>& blocked,
                        const std::vector<std::int32_t>& sorted_attributes) {
  for (std::int32_t attribute : blocked) {
    if (std::binary_search(sorted_attributes.begin(), sorted_attributes.end(), attribute)) {
      return true;
    }
  }
  return false;
}

// Video and audio: mimes, protocols (VAST versions) and duration must fit the slot. rqddurs,
// when given, replaces min/max duration (OpenRTB 2.6: the two are mutually exclusive).
template <class MediaSpec>
bool media_fits(const MediaSpec& slot, const compiled_creative& creative) {
  if (!slot.mimes.empty() &&
      std::none_of(slot.mimes.begin(), slot.mimes.end(),
                   [&](std::string_view mime) { return sorted_contains(creative.mimes, mime); })) {
    return false;
  }
  if (!slot.protocols.empty() && !creative.protocols.empty() &&
      std::none_of(slot.protocols.begin(), slot.protocols.end(), [&](std::int32_t p) {
        return std::binary_search(creative.protocols.begin(), creative.protocols.end(), p);
      })) {
    return false;
  }
  if (!slot.rqddurs.empty()) {
    return std::find(slot.rqddurs.begin(), slot.rqddurs.end(), creative.duration_seconds) !=
           slot.rqddurs.end();
  }
  if (creative.duration_seconds > 0) {
    if (slot.minduration > 0 && creative.duration_seconds < slot.minduration) return false;
    if (slot.maxduration > 0 && creative.duration_seconds > slot.maxduration) return false;
  }
  return true;
}

void append_hex(std::string& out, std::uint64_t value) {
  char buffer[17];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, 16);
  out.append(buffer, end);
}

// The request's imp with this id (bids name their imp by id); null when none has it.
const openrtb::imp* imp_of(const openrtb::bid_request& request, std::string_view id) noexcept {
  for (const openrtb::imp& imp : request.imps) {
    if (imp.id == id) return &imp;
  }
  return nullptr;
}

// The lines of `c` that consider() reads for every candidate: the first three of the struct
// (snapshot.hpp keeps the fields it reads there).
void prefetch_campaign(const compiled_campaign& c) noexcept {
  const char* p = reinterpret_cast<const char*>(&c);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  __builtin_prefetch(p + 128);
}

// What those lines point to: the banner sizes, the pricing model, the account's counters and
// the audience expression (past the first three lines). Reads the lines prefetch_campaign asked
// for.
void prefetch_campaign_data(const compiled_campaign& c) noexcept {
  if (!c.banner_sizes.empty()) __builtin_prefetch(c.banner_sizes.data());
  __builtin_prefetch(c.model.get());
  if (c.account != nullptr) __builtin_prefetch(c.account);
  if (c.needs_audience) __builtin_prefetch(&c.audience);
}

}  // namespace

std::string_view to_string(no_bid_reason reason) noexcept {
  switch (reason) {
    case no_bid_reason::no_matching_creative:
      return "no_matching_creative";
    case no_bid_reason::below_floor:
      return "below_floor";
    case no_bid_reason::currency:
      return "currency";
    case no_bid_reason::seat_blocked:
      return "seat_blocked";
    case no_bid_reason::deadline:
      return "deadline";
    case no_bid_reason::budget:
      return "budget";
    case no_bid_reason::pacing:
      return "pacing";
    case no_bid_reason::frequency_cap:
      return "frequency_cap";
    case no_bid_reason::overload:
      return "overload";
    case no_bid_reason::expired_on_arrival:
      return "expired_on_arrival";
    case no_bid_reason::holdout:
      return "holdout";
    case no_bid_reason::count_:
      break;
  }
  return "unknown";
}

bidder::deadline compute_deadline(steady_clock::time_point arrival, std::int32_t tmax_ms,
                                  const settings& config) noexcept {
  const std::int64_t budget_ms =
      static_cast<std::int64_t>(tmax_ms > 0 ? tmax_ms
                                            : static_cast<std::int32_t>(config.default_tmax_ms)) -
      static_cast<std::int64_t>(config.network_allowance_ms);
  return bidder::deadline(arrival +
                          std::chrono::milliseconds(std::max<std::int64_t>(budget_ms, 0)));
}

namespace {
// A floor in USD; -1 when its currency cannot be converted. No floor (0) needs no conversion:
// an unknown bidfloorcur with bidfloor 0 must not keep a bid out.
double floor_in_usd(const snapshot& snap, double floor, std::string_view currency) noexcept {
  if (floor <= 0) return 0;
  const double rate = snap.rate(currency);
  return rate > 0 ? floor / rate : -1;
}
}  // namespace

bool audience_data_allowed(const openrtb::bid_request& request,
                           std::uint16_t gdpr_vendor_id) noexcept {
  if (request.coppa) return false;
  // Under GDPR: a well-formed TCF v2 string granting purposes 1, 3 and 4 (and our vendor, when
  // configured). A missing or malformed one is no consent.
  if (request.gdpr.value_or(false) && privacy::check_tcf_consent(request.consent, gdpr_vendor_id) !=
                                          privacy::tcf_verdict::allowed) {
    return false;
  }
  // CCPA string "1YYN": version, notice given, opted out of sale, LSPA. 'Y' third = opt-out.
  if (request.us_privacy.size() >= 3 &&
      (request.us_privacy[2] == 'Y' || request.us_privacy[2] == 'y')) {
    return false;
  }
  // GPP (regs.gpp_sid): the GPP string is not parsed yet, so when a US section applies (6 US
  // Privacy, 7 US national, 8+ US states) an opt-out cannot be ruled out, and a TCF section
  // (2 EU, 5 Canada) without a GPP string is consent missing. Both mean no audience data.
  for (std::int32_t section : request.gpp_sid) {
    if (section >= 6) return false;
    if ((section == 2 || section == 5) && request.gpp.empty()) return false;
  }
  return true;
}

auction::auction(audience::store* store, std::uint32_t worker_id, std::uint64_t seed,
                 const auction_services& services)
    : store_(store),
      worker_id_(worker_id),
      seed_(seed),
      services_(services),
      rng_(spend::mix64(seed ^ (std::uint64_t{worker_id} << 32) ^ 0x2545f4914f6cdd1dULL) | 1) {
  if (services_.signer != nullptr) mac_.emplace(services_.signer->new_context());
}

std::uint32_t auction::next_draw() noexcept {
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<std::uint32_t>((rng_ * 0x2545f4914f6cdd1dULL) >> 32);
}

void auction::cancel_bids() noexcept {
  for (const reservation& r : reservations_) r.account->release(r.cost, r.issued);
  reservations_.clear();
}

void auction::report_bids(const openrtb::bid_request& request, const openrtb::bid_response& sent,
                          unix_seconds now) noexcept {
  reservations_.clear();  // they stay until their notices (or the TTL)
  if (services_.events == nullptr) return;
  for (std::size_t i = 0; i < sent.bids.size(); ++i) {
    const openrtb::bid& b = sent.bids[i];
    const bid_origin origin = i < bid_origins_.size() ? bid_origins_[i] : bid_origin();
    const compiled_experiment* experiment = origin.experiment;
    const compiled_arm* arm = origin.arm;
    services_.events->on_bid(
        {.request_id = sent.id,
         .imp_id = b.imp_id,
         .bid_id = b.id,
         .campaign_id = b.cid,
         .creative_id = b.crid,
         .price = money::from_units(b.price),
         .currency = sent.cur,
         .deal_id = b.dealid,
         .seat = sent.seat,
         .exchange = exchange_,
         .experiment =
             experiment != nullptr ? std::string_view(experiment->id) : std::string_view(),
         .arm = arm != nullptr ? std::string_view(arm->id) : std::string_view(),
         .at = now,
         .request = &request,
         .imp = imp_of(request, b.imp_id),
         .segments = audience_allowed_ ? std::span<const segment_membership>(segments_)
                                       : std::span<const segment_membership>(),
         .segment_names = segment_names_,
         .model = origin.model,
         .user_hash =
             users_hashed_ && user_count_ > 0 ? std::optional(user_hashes_[0]) : std::nullopt});
  }
}

std::span<const std::string> auction::user_keys(const snapshot& snap,
                                                const openrtb::bid_request& request) {
  if (!user_keys_built_) {
    user_keys_built_ = true;
    user_key_count_ = 0;
    auto eid_wanted = [&](std::string_view source) {
      return snap.config.eid_sources.empty() || sorted_contains(snap.config.eid_sources, source);
    };
    for_each_user_key(request, snap.config.max_user_ids, key_scratch_, eid_wanted,
                      [&](std::string_view) {
                        // Kept by a swap: no copy, and the capacities go round.
                        if (user_keys_.size() == user_key_count_) user_keys_.emplace_back();
                        std::swap(user_keys_[user_key_count_++], key_scratch_);
                      });
  }
  return {user_keys_.data(), user_key_count_};
}

outcome auction::run(const snapshot& snap, const openrtb::bid_request& request,
                     const request_context& ctx, openrtb::bid_response& out) {
  out.reset();
  // A new snapshot may have another number of campaigns; stamps of the old one mean nothing.
  if (campaign_stamp_.size() != snap.campaigns.size() || ++request_stamp_ == 0) {
    campaign_stamp_.assign(snap.campaigns.size(), 0);
    campaign_ok_.assign(snap.campaigns.size(), false);
    campaign_arm_.assign(snap.campaigns.size(), -1);
    request_stamp_ = 1;
  }
  below_floor_seen_ = budget_seen_ = pacing_seen_ = frequency_seen_ = holdout_seen_ = false;
  bid_origins_.clear();
  users_hashed_ = false;
  user_count_ = 0;
  user_keys_built_ = false;
  cancel_bids();  // an earlier run's, if its caller neither reported nor cancelled them
  std::uint32_t exchange = ctx.exchange.value_or(snap.default_exchange);
  if (exchange >= snap.exchanges.size()) exchange = snap.default_exchange;
  exchange_ = snap.exchanges[exchange].id;
  segment_names_ = &snap.segments;

  const std::string& seat = snap.config.seat;
  if ((!request.wseat.empty() && !list_has(request.wseat, seat)) || list_has(request.bseat, seat)) {
    return {false, no_bid_reason::seat_blocked};
  }
  // Bid in the first currency the request allows that we can convert to (USD when none given).
  std::string_view currency = "USD";
  double response_rate = snap.rate(currency);
  if (!request.cur.empty()) {
    response_rate = 0;
    for (std::string_view c : request.cur) {
      if (double r = snap.rate(c); r > 0) {
        currency = c;
        response_rate = r;
        break;
      }
    }
    if (response_rate <= 0) return {false, no_bid_reason::currency};
  }
  if (ctx.deadline.expired(ctx.now())) return {false, no_bid_reason::deadline};

  audience_allowed_ = audience_data_allowed(request, snap.config.gdpr_vendor_id);
  segments_.clear();
  const bool look_up = snap.needs_audience_lookup && store_ != nullptr;
  // The user's entries start loading from memory now, to arrive while the targeting filter
  // runs (see store::prefetch).
  if (look_up && audience_allowed_) {
    for (const std::string& key : user_keys(snap, request)) store_->prefetch(key);
  }
  snap.targeting.filter(request, exchange, audience_allowed_, eligible_, scratch_set_);
  // No campaign passes the request-level rules: nothing would use the audience.
  if (eligible_.none()) return {false, no_bid_reason::no_matching_creative};
  if (look_up) {
    if (audience_allowed_) {
      look_up_audience(snap, request, ctx.wall_now);
      if (ctx.deadline.expired(ctx.now())) return {false, no_bid_reason::deadline};
    } else {
      stats_.skipped_for_privacy.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // Third-party segments are audience data too: the same privacy rules gate them.
  if (audience_allowed_ && !request.data_segments.empty() && !snap.third_party.empty()) {
    snap.third_party.collect(request, ctx.wall_now, segments_);
  }
  if (segments_.size() > 1) {
    // Sorted by segment, most recent first, one entry per segment.
    std::sort(segments_.begin(), segments_.end(), [](const auto& a, const auto& b) {
      return a.segment != b.segment ? a.segment < b.segment : a.last_seen > b.last_seen;
    });
    segments_.erase(
        std::unique(segments_.begin(), segments_.end(),
                    [](const auto& a, const auto& b) { return a.segment == b.segment; }),
        segments_.end());
  }

  for (const openrtb::imp& imp : request.imps) {
    if (ctx.deadline.expired(ctx.now())) {
      out.bids.clear();
      cancel_bids();
      return {false, no_bid_reason::deadline};
    }
    candidate best;
    imp_floor_usd_ = floor_in_usd(snap, imp.bidfloor, imp.bidfloorcur);
    pricing_scratch_.owner = 0;  // what models stored was about the previous imp
    imp_battr_bits_ = 0;
    for (std::int32_t a : imp.banner.battr) imp_battr_bits_ |= attribute_bits(a);
    snap.targeting.slot_candidates(imp, eligible_, slot_set_);
    // Ranks run by descending price ceiling: once a campaign's cannot beat the best price, no
    // later one's can (2 micros of slack cover rounding to the response currency's micros).
    auto stops_before = [&](std::uint32_t rank) {
      return best.creative != nullptr &&
             snap.targeting.price_ceiling_usd(rank) * response_rate + 2e-6 <= best.price;
    };
    // Each candidate is a few cache misses (its campaign's first lines, then what they point
    // to), so the walk runs ahead of consider(): the campaign two ahead has its lines
    // prefetched, the one ahead what they point to, before the current one is considered.
    std::uint32_t ahead[2];
    std::size_t ahead_count = 0;
    bool stopped = false;
    slot_set_.for_each([&](std::uint32_t rank) {
      prefetch_campaign(snap.campaigns[snap.targeting.campaign_at(rank)]);
      if (ahead_count == 2) {
        const std::uint32_t current = ahead[0];
        ahead[0] = ahead[1];
        ahead[1] = rank;
        prefetch_campaign_data(snap.campaigns[snap.targeting.campaign_at(ahead[0])]);
        if (stops_before(current)) return !(stopped = true);
        consider(snap, snap.targeting.campaign_at(current), request, imp, ctx, response_rate, best);
        return true;
      }
      ahead[ahead_count++] = rank;
      if (ahead_count == 2) {
        prefetch_campaign_data(snap.campaigns[snap.targeting.campaign_at(ahead[0])]);
      }
      return true;
    });
    for (std::size_t i = 0; i < ahead_count && !stopped; ++i) {
      if (stops_before(ahead[i])) break;
      consider(snap, snap.targeting.campaign_at(ahead[i]), request, imp, ctx, response_rate, best);
    }
    if (best.creative != nullptr) shade(snap.exchanges[exchange], request, response_rate, best);
    if (best.creative != nullptr && reserve(snap, best, currency, ctx.wall_now)) {
      const std::size_t index = out.bids.size();
      fill_bid(snap, best, request, imp, currency, ctx.wall_now, index, out.bids.emplace());
      bid_origins_.resize(index + 1);
      bid_origins_[index] = {
          best.experiment, best.arm,
          best.arm != nullptr && best.arm->model
              ? std::string_view(best.arm->pricing_name)
              : std::string_view(snap.campaigns[best.creative->campaign].pricing_name)};
    }
  }
  if (out.bids.empty()) {
    // The most specific reason a candidate was turned away.
    const no_bid_reason reason = below_floor_seen_ ? no_bid_reason::below_floor
                                 : frequency_seen_ ? no_bid_reason::frequency_cap
                                 : pacing_seen_    ? no_bid_reason::pacing
                                 : budget_seen_    ? no_bid_reason::budget
                                 : holdout_seen_   ? no_bid_reason::holdout
                                                   : no_bid_reason::no_matching_creative;
    return {false, reason};
  }
  out.id = request.id;
  out.cur = currency;
  out.seat = seat;
  return {true, no_bid_reason::no_matching_creative};
}

void auction::look_up_audience(const snapshot& snap, const openrtb::bid_request& request,
                               unix_seconds now) {
  for (const std::string& key : user_keys(snap, request)) {
    stats_.lookups.fetch_add(1, std::memory_order_relaxed);
    memberships_.clear();
    switch (store_->lookup(key, now, memberships_)) {
      case audience::lookup_status::found:
        stats_.found.fetch_add(1, std::memory_order_relaxed);
        break;
      case audience::lookup_status::not_found:
        continue;
      case audience::lookup_status::not_in_memory:
        stats_.not_in_memory.fetch_add(1, std::memory_order_relaxed);
        continue;
      case audience::lookup_status::failed:
        stats_.failed.fetch_add(1, std::memory_order_relaxed);
        continue;
    }
    // The views die with the next look-up, so segments are interned
    // right away; segments no campaign mentions are dropped here.
    for (const audience::membership_view& m : memberships_) {
      if (auto id = snap.segments.find(m.segment)) segments_.push_back({*id, m.last_seen});
    }
  }
}

bool auction::audience_matches(const compiled_campaign& c, unix_seconds now) const {
  return expression::matches(c.audience, segments_, now);
}

bool auction::campaign_eligible(const snapshot& snap, std::uint32_t index,
                                const openrtb::bid_request& request, const request_context& ctx) {
  // Campaign-level rules do not depend on the imp, so the answer is cached for the request.
  const compiled_campaign& c = snap.campaigns[index];
  auto decide = [&]() -> bool {
    // Exchange, status, geo, device, OS, site/app lists, bcat, badv, bapp: targeting_index.
    if (c.start != 0 && ctx.wall_now < c.start) return false;
    if (c.end != 0 && ctx.wall_now >= c.end) return false;
    if (c.needs_audience) {
      if (!audience_allowed_) return false;
      if (!audience_matches(c, ctx.wall_now)) return false;
    }
    // An experiment's campaign: the user's arm decides the price and the budget (and a holdout
    // arm does not bid at all).
    int arm = -1;
    if (c.experiment >= 0) {
      if (!users_hashed_) hash_user_ids(snap, request);
      if (user_count_ > 0) {
        const compiled_experiment& x = snap.experiments[static_cast<std::size_t>(c.experiment)];
        arm = x.arm_of(user_hashes_[0]);
        if (arm >= 0 && x.arms[static_cast<std::size_t>(arm)].holdout) {
          holdout_seen_ = true;
          return false;
        }
      }
    }
    campaign_arm_[index] = static_cast<std::int8_t>(arm);
    if (c.account != nullptr && !spend_allows(snap, c, c.slot(arm), request, ctx)) return false;
    return true;
  };
  if (campaign_stamp_[index] != request_stamp_) {
    campaign_stamp_[index] = request_stamp_;
    campaign_arm_[index] = -1;
    campaign_ok_[index] = decide();
  }
  return campaign_ok_[index];
}

// The campaign's first creative that fits the imp, in the imp's order of preference (banner
// formats in order, then video, audio, native); null when none does.
const compiled_creative* auction::fitting_creative(const snapshot& snap, const compiled_campaign& c,
                                                   const openrtb::imp& imp, std::int32_t& w,
                                                   std::int32_t& h) const {
  auto each = [&](media_kind media, auto&& fits) -> const compiled_creative* {
    for (std::uint32_t index : c.creatives) {
      const compiled_creative& creative = snap.creatives[index];
      if (creative.media == media && fits(creative)) return &creative;
    }
    return nullptr;
  };
  if (imp.banner.present) {
    // The first format, in the imp's order, that a creative (in the campaign's order) has and
    // whose attributes the imp does not block.
    for (const openrtb::format& f : imp.banner.formats) {
      for (const compiled_campaign::banner_size& size : c.banner_sizes) {
        if (size.w != f.w || size.h != f.h) continue;
        // imp_battr_bits_ decides without loading the creative, except when the only bit the
        // two share stands for attributes outside 1..30 (rare): then the lists do.
        if (const std::uint32_t shared = size.attributes & imp_battr_bits_;
            shared != 0 &&
            (shared != other_attributes_bit ||
             attributes_blocked(imp.banner.battr, snap.creatives[size.creative].attributes))) {
          continue;
        }
        w = f.w;
        h = f.h;
        return &snap.creatives[size.creative];
      }
    }
  }
  if (imp.video.present) {
    const compiled_creative* found = each(media_kind::video, [&](const compiled_creative& cr) {
      return !attributes_blocked(imp.video.battr, cr.attributes) && media_fits(imp.video, cr);
    });
    if (found != nullptr) {
      w = imp.video.w;
      h = imp.video.h;
      return found;
    }
  }
  w = h = 0;
  if (imp.audio.present) {
    const compiled_creative* found = each(media_kind::audio, [&](const compiled_creative& cr) {
      return !attributes_blocked(imp.audio.battr, cr.attributes) && media_fits(imp.audio, cr);
    });
    if (found != nullptr) return found;
  }
  if (imp.native.present) {
    return each(media_kind::native, [&](const compiled_creative& cr) {
      return !attributes_blocked(imp.native.battr, cr.attributes);
    });
  }
  return nullptr;
}

void auction::consider(const snapshot& snap, std::uint32_t campaign_index,
                       const openrtb::bid_request& request, const openrtb::imp& imp,
                       const request_context& ctx, double response_rate, candidate& best) {
  const compiled_campaign& c = snap.campaigns[campaign_index];
  std::int32_t w = 0, h = 0;
  const compiled_creative* creative = fitting_creative(snap, c, imp, w, h);
  if (creative == nullptr) return;
  if (!campaign_eligible(snap, campaign_index, request, ctx)) return;

  // PMP: a campaign with deal ids bids only through one of its deals; any other campaign bids
  // only in the open auction, which a private auction does not have.
  const openrtb::deal* deal = nullptr;
  if (!c.deal_ids.empty()) {
    for (const openrtb::deal& d : imp.deals) {
      if (sorted_contains(c.deal_ids, d.id) &&
          (d.wseat.empty() || list_has(d.wseat, snap.config.seat))) {
        deal = &d;
        break;
      }
    }
    if (deal == nullptr) return;
  } else if (imp.private_auction) {
    return;
  }

  // The open-market floor is converted once per imp (run()); a deal's floor here.
  double floor_usd = imp_floor_usd_;
  if (deal != nullptr) {
    floor_usd = floor_in_usd(snap, deal->bidfloor, deal->bidfloorcur);
  }
  if (floor_usd < 0) {  // a floor in a currency we cannot convert cannot be checked
    below_floor_seen_ = true;
    return;
  }
  const money floor = money::from_units(floor_usd * c.rate_per_usd);

  pricing::pricing_input input{request,
                               imp,
                               audience_allowed_ ? std::span<const segment_membership>(segments_)
                                                 : std::span<const segment_membership>(),
                               floor,
                               c.max_cpm,
                               ctx.wall_now,
                               exchange_,
                               c.id,
                               &pricing_scratch_};
  // An experiment's campaign is priced by the user's arm (campaign_eligible found it).
  const pricing::model* model = c.model.get();
  const compiled_experiment* experiment = nullptr;
  const compiled_arm* arm = nullptr;
  const int arm_index = campaign_arm_[campaign_index];
  if (arm_index >= 0) {
    experiment = &snap.experiments[static_cast<std::size_t>(c.experiment)];
    arm = &experiment->arms[static_cast<std::size_t>(arm_index)];
    if (arm->model) model = arm->model.get();
  }
  const pricing::quote quote = model->price(input);
  if (!quote.is_bid()) return;
  const money price = std::min(quote.price(), c.max_cpm);
  if (price < floor) {
    below_floor_seen_ = true;
    return;
  }
  const compiled_campaign::spend_slot slot = c.slot(arm_index);
  if (slot.budget.limited() && slot.account != nullptr &&
      slot.account->room(slot.budget, ctx.wall_now) < spend::cost_of(price)) {
    budget_seen_ = true;  // the bid would not fit in what is left
    return;
  }
  // Convert to the response currency; rounding must never take a bid under the floor.
  double price_out = price.units() / c.rate_per_usd * response_rate;
  const double floor_out = floor_usd * response_rate;
  if (price_out < floor_out) price_out = floor_out;
  price_out = static_cast<double>(money::from_units(price_out).micros()) / 1e6;
  if (price_out < floor_out) price_out += 1e-6;
  if (price_out > best.price) {
    best.creative = creative;
    best.deal = deal;
    best.price = price_out;
    best.w = w;
    best.h = h;
    best.experiment = experiment;
    best.arm = arm;
    best.arm_index = arm_index;
    best.floor = floor_out;
  }
}

void auction::shade(const compiled_exchange& exchange, const openrtb::bid_request& request,
                    double response_rate, candidate& best) noexcept {
  best.shaded = false;
  if (request.auction_type != 1 || exchange.shading.mode == shading::mode::off ||
      exchange.shading_state == nullptr || !(response_rate > 0)) {
    return;  // second price (or unknown): bidding the value is the best answer
  }
  // Learned in USD so that bids answered in any currency share one market.
  const double value_usd = best.price / response_rate;
  const std::size_t segment = shading::segment_of(request.devicetype, best.w, best.h);
  const shading::decision d =
      exchange.shading_state->shade(exchange.shading, segment, value_usd, next_draw());
  // Never under the floor (rounding included), never above the value.
  double price = std::max(d.price * response_rate, best.floor);
  price = static_cast<double>(money::from_units(price).micros()) / 1e6;
  if (price < best.floor) price += 1e-6;
  best.price = std::min(price, best.price);
  best.shaded = true;
  best.shading_segment = segment;
  best.shading_arm = d.arm;
  best.value_usd = value_usd;
}

// Spend rules of one campaign for this request; cached with the rest of campaign_eligible.
// A few relaxed atomic loads, one throttle draw, and for capped campaigns one cache line of the
// frequency table per user id.
bool auction::spend_allows(const snapshot& snap, const compiled_campaign& c,
                           const compiled_campaign::spend_slot& slot,
                           const openrtb::bid_request& request, const request_context& ctx) {
  if (slot.budget.limited() && slot.account->room(slot.budget, ctx.wall_now) <= 0) {
    budget_seen_ = true;
    return false;
  }
  if (slot.budget.pacing == spend::pacing_mode::even && !slot.account->pacing_allows(next_draw())) {
    pacing_seen_ = true;
    return false;
  }
  if (!c.frequency_caps.empty() && !under_frequency_caps(snap, c, request, ctx.wall_now)) {
    frequency_seen_ = true;
    return false;
  }
  return true;
}

void auction::hash_user_ids(const snapshot& snap, const openrtb::bid_request& request) {
  users_hashed_ = true;
  user_count_ = 0;
  users_text_.clear();
  // The ids whose use privacy signals forbid are not used for capping either; a capped
  // campaign then does not bid (it cannot keep its cap).
  if (!audience_allowed_) return;
  for (const std::string& key : user_keys(snap, request)) {
    if (user_count_ == max_user_hashes) break;
    user_hashes_[user_count_++] = spend::hash64(key, services_.user_hash_secret);
  }
  for (std::size_t i = 0; i < user_count_; ++i) {
    if (i > 0) users_text_ += '.';
    char buffer[16];
    std::uint64_t v = user_hashes_[i];
    for (int d = 15; d >= 0; --d, v >>= 4) buffer[d] = "0123456789abcdef"[v & 15];
    users_text_.append(buffer, sizeof buffer);
  }
}

bool auction::under_frequency_caps(const snapshot& snap, const compiled_campaign& c,
                                   const openrtb::bid_request& request, unix_seconds now) {
  if (!users_hashed_) hash_user_ids(snap, request);
  if (user_count_ == 0) return false;  // no usable id: the cap cannot be kept
  // Each id counts every impression shown under it, so the user's count is the largest.
  spend::frequency_counts most;
  const spend::frequency_table& table = snap.spend->frequency();
  for (std::size_t i = 0; i < user_count_; ++i) {
    const spend::frequency_counts n =
        table.lookup(spend::frequency_key(user_hashes_[i], c.account->id_hash()), now);
    most.hour = std::max(most.hour, n.hour);
    most.day = std::max(most.day, n.day);
    most.week = std::max(most.week, n.week);
  }
  for (const spend::frequency_cap& cap : c.frequency_caps) {
    if (most.in(cap.period) >= cap.max_impressions) return false;
  }
  return true;
}

bool auction::reserve(const snapshot& snap, const candidate& winner, std::string_view currency,
                      unix_seconds now) {
  const compiled_campaign& c = snap.campaigns[winner.creative->campaign];
  const compiled_campaign::spend_slot slot = c.slot(winner.arm_index);
  if (slot.account == nullptr) return true;
  const spend::amount cost = campaign_cost(snap, c, money::from_units(winner.price), currency);
  // Recorded first: if recording it ran out of memory after the reservation, cancel_bids()
  // could not give it back.
  reservations_.push_back({slot.account, cost, now});
  if (!slot.account->try_reserve(slot.budget, cost, now)) {
    reservations_.pop_back();
    budget_seen_ = true;  // another thread took the rest of the budget meanwhile
    return false;
  }
  return true;
}

void auction::fill_bid(const snapshot& snap, const candidate& winner,
                       const openrtb::bid_request& request, const openrtb::imp& imp,
                       std::string_view currency, unix_seconds now, std::size_t index,
                       openrtb::bid& out) {
  const compiled_creative& creative = *winner.creative;
  const compiled_campaign& c = snap.campaigns[creative.campaign];
  out.id.clear();
  append_hex(out.id, seed_);
  out.id += '-';
  append_hex(out.id, worker_id_);
  out.id += '-';
  append_hex(out.id, ++next_bid_);
  out.imp_id = imp.id;
  out.price = winner.price;
  out.adid = creative.id;
  out.crid = creative.id;
  out.cid = c.id;
  out.adm = creative.markup;
  out.adm_json_parts = creative.markup_parts_json;
  out.dealid = winner.deal != nullptr ? winner.deal->id : std::string_view();
  out.bundle = c.advertised_bundle;
  out.adomain = c.advertiser_domains;
  out.cat = c.categories;
  switch (creative.media) {
    case media_kind::banner:
      out.mtype = openrtb::markup_type::banner;
      out.w = winner.w;
      out.h = winner.h;
      break;
    case media_kind::video:
      out.mtype = openrtb::markup_type::video;
      out.w = winner.w > 0 ? winner.w : creative.w;
      out.h = winner.h > 0 ? winner.h : creative.h;
      break;
    case media_kind::audio:
      out.mtype = openrtb::markup_type::audio;
      break;
    case media_kind::native:
      out.mtype = openrtb::markup_type::native;
      break;
  }
  // Every URL carries the user's id hashes (when privacy signals allow using the ids): the
  // notices count frequency caps and record the touches that attribution credits.
  if (!users_hashed_) hash_user_ids(snap, request);
  shading_text_.clear();
  if (winner.shaded) {
    shading::append_notice_field(shading_text_, winner.shading_segment, winner.shading_arm,
                                 winner.value_usd);
  }
  // Each URL is signed for its own kind: the click URL sits in the markup, where the page can
  // read it, and its signature must not verify a win, bill or loss (nor a burl a loss).
  notice::bid_identity id{.request_id = request.id,
                          .imp_id = imp.id,
                          .bid_id = out.id,
                          .campaign_id = c.id,
                          .creative_id = creative.id,
                          .price_micros = money::from_units(winner.price).micros(),
                          .currency = currency,
                          .issued_at = now,
                          .users = users_text_,
                          .exchange = exchange_,
                          .key_id = services_.signer != nullptr ? services_.signer->signing_key_id()
                                                                : std::string_view(),
                          .shading = shading_text_};
  const std::string& base = snap.config.notice_base_url;
  auto signed_url = [&](std::string& url, notice::notice_kind kind) {
    id.purpose = static_cast<std::uint8_t>(kind);
    signature_.clear();
    if (mac_) mac_->sign(id, signature_);
    url.clear();
    notice::append_notice_url(url, base, kind, id, signature_);
  };
  signed_url(out.nurl, notice::notice_kind::win);
  signed_url(out.burl, notice::notice_kind::bill);
  // A loss counts no impression and records no touch: its URL carries no user hashes (shorter
  // to sign and to send).
  const std::string_view users = id.users;
  id.users = {};
  signed_url(out.lurl, notice::notice_kind::loss);
  id.users = users;
  out.urls_json_safe = true;  // config checks notice_base_url; the rest are ids and encodings
  if (creative.markup_parts.size() > 1) {
    if (clicked_markups_.size() <= index) clicked_markups_.resize(index + 1);
    auto& [click_url, markup] = clicked_markups_[index];
    signed_url(click_url, notice::notice_kind::click);
    markup.clear();
    for (std::size_t i = 0; i < creative.markup_parts.size(); ++i) {
      if (i > 0) markup += click_url;
      markup += creative.markup_parts[i];
    }
    out.adm = markup;
    out.adm_json_joiner = click_url;
  }
}

}  // namespace bidder::engine
