#include "bidder/engine/snapshot.hpp"

#include <algorithm>
#include <cctype>

#include "bidder/config/audience_expression.hpp"
#include "bidder/core/json_text.hpp"
#include "bidder/core/sorted_lists.hpp"
#include "bidder/openrtb/normalize.hpp"

namespace bidder::engine {
namespace {

std::string lower_case(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

double snapshot::rate(std::string_view currency) const noexcept {
  if (currency.empty()) currency = "USD";
  auto it = config.currency_rates.find(currency);
  return it == config.currency_rates.end() ? 0.0 : it->second;
}

std::optional<std::uint32_t> snapshot::find_exchange(std::string_view id) const noexcept {
  for (std::uint32_t i = 0; i < exchanges.size(); ++i) {
    if (exchanges[i].id == id) return i;
  }
  return std::nullopt;
}

const compiled_campaign* snapshot::find_campaign(std::string_view id) const noexcept {
  auto it = campaign_by_id.find(id);
  return it == campaign_by_id.end() ? nullptr : &campaigns[it->second];
}

const compiled_creative* snapshot::find_creative(const compiled_campaign& c,
                                                 std::string_view id) const noexcept {
  for (std::uint32_t index : c.creatives) {
    if (creatives[index].id == id) return &creatives[index];
  }
  return nullptr;
}

namespace {

// The pricing model `pricing` names, built by its factory; errors name `who` and the field.
result<std::unique_ptr<pricing::model>> build_model(const config::v1::PricingModel& pricing,
                                                    const pricing::registry& registry,
                                                    segment_dictionary& segments,
                                                    std::string_view files_dir,
                                                    const std::string& who) {
  const pricing::factory* factory = registry.find(pricing.name());
  if (factory == nullptr) {
    return make_error(errc::invalid_config, who + "pricing.name: no model \"" + pricing.name() +
                                                "\"; known: " + join(registry.names()));
  }
  pricing::create_context ctx{.segments = segments, .files_dir = files_dir};
  auto model = factory->create(pricing.config(), ctx);
  if (!model) return make_error(errc::invalid_config, who + "pricing." + model.error().message);
  return std::move(*model);
}

// `b` with its limits scaled by `share` (the share of users it is for). A limit never becomes
// 0, which would mean "no limit": a share of nothing keeps one micro, which stops its bids.
spend::budget scaled_budget(spend::budget b, double share) {
  auto scale = [&](spend::amount limit) -> spend::amount {
    if (limit <= 0) return limit;
    return std::max<spend::amount>(
        1, static_cast<spend::amount>(std::llround(static_cast<double>(limit) * share)));
  };
  b.daily = scale(b.daily);
  b.lifetime = scale(b.lifetime);
  return b;
}

}  // namespace

int compiled_experiment::arm_of(std::uint64_t user_hash) const noexcept {
  if (arms.empty()) return -1;
  // A uniform number in [0, 1) from the user and the experiment.
  const double u =
      static_cast<double>(spend::mix64(user_hash ^ salt) >> 11) * (1.0 / 9007199254740992.0);
  const double n = static_cast<double>(arms.size());
  const std::size_t slice = std::min(arms.size() - 1, static_cast<std::size_t>(u * n));
  const double within = u * n - static_cast<double>(slice);  // [0, 1) inside the slice
  return within < arms[slice].share * n ? static_cast<int>(slice) : -1;
}

bool compiled_pixel::try_take(unix_seconds now) const noexcept {
  std::int64_t second = rate->second.load(std::memory_order_relaxed);
  if (second != now && rate->second.compare_exchange_strong(second, now)) {
    rate->taken.store(0, std::memory_order_relaxed);
  }
  return rate->taken.fetch_add(1, std::memory_order_relaxed) < max_per_second;
}

const compiled_segment_pixel* snapshot::find_segment_pixel(std::string_view id) const noexcept {
  auto it = std::lower_bound(
      segment_pixels.begin(), segment_pixels.end(), id,
      [](const compiled_segment_pixel& p, std::string_view k) { return p.id < k; });
  return it != segment_pixels.end() && it->id == id ? &*it : nullptr;
}

const compiled_pixel* snapshot::find_pixel(std::string_view id) const noexcept {
  auto it = std::lower_bound(pixels.begin(), pixels.end(), id,
                             [](const compiled_pixel& p, std::string_view k) { return p.id < k; });
  return it != pixels.end() && it->id == id ? &*it : nullptr;
}

spend::amount campaign_cost(const snapshot& snap, const compiled_campaign& c, money price,
                            std::string_view currency) noexcept {
  if (currency == c.currency) return spend::cost_of(price);
  const double rate = snap.rate(currency);
  if (rate <= 0) return 0;
  return spend::cost_of(money::from_units(price.units() / rate * c.rate_per_usd));
}

spend::ledger_options ledger_options_of(const config::bidder_config& config) {
  spend::ledger_options options;
  options.reservation_ttl = config.reservation_ttl_seconds();
  options.notice_max_age = config.notice_max_age_seconds();
  options.notice_table_slots = config.notice_table_slots();
  options.frequency_table_slots = config.frequency_table_slots();
  return options;
}

namespace {

spend::budget compile_budget(const config::v1::Campaign& c) {
  spend::budget b;
  b.daily = spend::amount_from_units(c.budget().daily());
  b.lifetime = spend::amount_from_units(c.budget().lifetime());
  b.pacing = c.pacing() == config::v1::EVEN ? spend::pacing_mode::even : spend::pacing_mode::asap;
  switch (c.budget().count_on()) {
    case config::v1::Budget::WIN:
      b.counted_on = spend::count_on::win;
      break;
    case config::v1::Budget::BILL:
      b.counted_on = spend::count_on::bill;
      break;
    default:
      break;  // the exchange's
  }
  return b;
}

spend::cap_period compile_period(config::v1::FrequencyCap::Period p) {
  switch (p) {
    case config::v1::FrequencyCap::HOUR:
      return spend::cap_period::hour;
    case config::v1::FrequencyCap::WEEK:
      return spend::cap_period::week;
    default:
      return spend::cap_period::day;
  }
}

// Cuts the markup at each click macro (views into the creative's own, final, markup string).
void split_markup(compiled_creative& creative) {
  creative.markup_parts.clear();
  std::string_view rest = creative.markup;
  for (;;) {
    const std::size_t at = rest.find(config::click_url_macro);
    if (at == std::string_view::npos) break;
    creative.markup_parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + config::click_url_macro.size());
  }
  creative.markup_parts.push_back(rest);
  creative.markup_parts_json.clear();
  for (std::string_view part : creative.markup_parts) {
    append_json_escaped(creative.markup_parts_json.emplace_back(), part);
  }
}

// The loader fills in the defaults; a config built by hand (tests) may leave zeros.
shading::params shading_params_of(const config::v1::Shading& s) {
  shading::params p;
  p.mode = s.mode() == config::v1::Shading::LEARNED  ? shading::mode::learned
           : s.mode() == config::v1::Shading::FACTOR ? shading::mode::factor
                                                     : shading::mode::off;
  if (s.min_factor() > 0) p.min_factor = std::min(s.min_factor(), 1.0);
  if (s.has_exploration_share()) p.exploration_share = std::clamp(s.exploration_share(), 0.0, 1.0);
  if (s.min_observations() > 0) p.min_observations = s.min_observations();
  if (s.half_life_seconds() > 0) p.half_life_seconds = s.half_life_seconds();
  if (s.has_surplus_tolerance()) p.surplus_tolerance = std::clamp(s.surplus_tolerance(), 0.0, 0.5);
  return p;
}

}  // namespace

result<std::shared_ptr<const snapshot>> build_snapshot(const config::bidder_config& config,
                                                       const pricing::registry& registry,
                                                       std::string_view files_dir) {
  return build_snapshot(config, registry,
                        std::make_shared<spend::ledger>(ledger_options_of(config)), nullptr,
                        files_dir);
}

result<std::shared_ptr<const snapshot>> build_snapshot(const config::bidder_config& config,
                                                       const pricing::registry& registry,
                                                       std::shared_ptr<spend::ledger> ledger,
                                                       std::shared_ptr<shading::book> shading,
                                                       std::string_view files_dir) {
  auto snap = std::make_shared<snapshot>();
  snap->spend = std::move(ledger);
  snap->shading = shading ? std::move(shading) : std::make_shared<shading::book>();
  snap->config.notice_max_age = config.notice_max_age_seconds();
  snap->config.seat = config.seat();
  snap->config.default_tmax_ms = config.default_tmax_ms();
  snap->config.network_allowance_ms = config.network_allowance_ms();
  snap->config.notice_base_url = config.notice_base_url();
  while (!snap->config.notice_base_url.empty() && snap->config.notice_base_url.back() == '/') {
    snap->config.notice_base_url.pop_back();
  }
  snap->config.max_user_ids = config.max_user_ids();
  snap->config.gdpr_vendor_id = static_cast<std::uint16_t>(config.gdpr_vendor_id());
  snap->config.eid_sources = sorted_list(config.eid_sources());
  for (const auto& [currency, rate] : config.currency_rates()) {
    snap->config.currency_rates.emplace(currency, rate);
  }
  for (const auto& px : config.conversion_pixels()) {
    compiled_pixel pixel;
    pixel.id = px.id();
    pixel.advertiser = openrtb::canonical_domain(px.advertiser());
    pixel.max_value = money::from_units(px.max_value());
    if (px.max_per_second() > 0) pixel.max_per_second = px.max_per_second();
    snap->pixels.push_back(std::move(pixel));
  }
  std::sort(snap->pixels.begin(), snap->pixels.end(),
            [](const compiled_pixel& a, const compiled_pixel& b) { return a.id < b.id; });
  for (const auto& px : config.audience_events().pixels()) {
    compiled_segment_pixel pixel;
    pixel.id = px.id();
    pixel.source = px.source();
    pixel.actions.assign(px.actions().begin(), px.actions().end());
    if (pixel.actions.empty()) pixel.actions.emplace_back("page_view");
    pixel.rate = std::make_shared<rate_limiter>(px.max_per_second() > 0 ? px.max_per_second() : 50);
    snap->segment_pixels.push_back(std::move(pixel));
  }
  std::sort(
      snap->segment_pixels.begin(), snap->segment_pixels.end(),
      [](const compiled_segment_pixel& a, const compiled_segment_pixel& b) { return a.id < b.id; });
  // The loader fills in the default exchange; a config built by hand (tests) may lack it.
  for (const auto& x : config.exchanges()) {
    snap->exchanges.push_back(
        {x.id(), x.name(),
         x.count_on() == config::v1::Budget::BILL ? spend::count_on::bill : spend::count_on::win,
         shading_params_of(x.shading())});
  }
  if (snap->exchanges.empty()) {
    snap->exchanges.push_back({std::string(config::default_exchange_id), "", spend::count_on::win});
  }
  for (compiled_exchange& x : snap->exchanges) {
    x.shading_state = &snap->shading->open(x.id, x.shading);
  }
  if (snap->exchanges.size() > static_cast<std::size_t>(config::max_exchanges)) {
    return make_error(errc::invalid_config,
                      "exchanges: at most " + std::to_string(config::max_exchanges));
  }
  if (auto i = snap->find_exchange(config.default_exchange())) {
    snap->default_exchange = *i;
  } else if (!config.default_exchange().empty()) {
    return make_error(errc::invalid_config,
                      "default_exchange: unknown exchange \"" + config.default_exchange() + "\"");
  }

  for (const auto& c : config.campaigns()) {
    const std::string who = "campaign \"" + c.id() + "\": ";
    compiled_campaign out;
    out.id = c.id();
    out.active = c.status() == config::v1::Campaign::ACTIVE;
    out.start = c.has_start() ? c.start().seconds() : 0;
    out.end = c.has_end() ? c.end().seconds() : 0;
    for (const std::string& d : c.advertiser_domains()) {
      out.advertiser_domains.push_back(openrtb::canonical_domain(d));
    }
    for (const std::string& cat : c.categories()) {
      out.categories.push_back(openrtb::canonical_code(cat));
    }
    out.currency = c.currency();
    out.rate_per_usd = snap->rate(c.currency());
    out.max_cpm = money::from_units(c.max_cpm());
    out.advertised_bundle = c.advertised_app_bundle();
    const auto& t = c.targeting();
    out.countries = sorted_list(t.countries());
    out.regions = sorted_list(t.regions());
    out.zips = sorted_list(t.zips());
    out.os_lower = sorted_list(t.os(), &lower_case);
    out.device_types.assign(t.device_types().begin(), t.device_types().end());
    std::sort(out.device_types.begin(), out.device_types.end());
    out.site_allow = sorted_list(t.site_domains_allow(), &openrtb::canonical_domain);
    out.site_block = sorted_list(t.site_domains_block(), &openrtb::canonical_domain);
    out.app_allow = sorted_list(t.app_bundles_allow());
    out.app_block = sorted_list(t.app_bundles_block());
    out.deal_ids = sorted_list(t.deal_ids());
    if (!t.exchanges().empty()) {
      out.exchange_mask = 0;
      for (const std::string& x : t.exchanges()) {
        const auto i = snap->find_exchange(x);
        if (!i) {
          return make_error(errc::invalid_config,
                            who + "targeting.exchanges: unknown exchange \"" + x + "\"");
        }
        out.exchange_mask |= std::uint64_t{1} << *i;
      }
    }
    auto audience = config::audience_expression(t.audience());
    if (!audience) return make_error(errc::invalid_config, who + audience.error().message);
    auto program = expression::compile(
        *audience, [&](std::string_view name) { return snap->segments.intern(name); });
    if (!program) return make_error(errc::invalid_config, who + program.error().message);
    out.audience = std::move(*program);
    // Any condition at all, even one only none_of can satisfy, needs the user's data: without
    // it "not in recent-buyers" cannot be told apart from "unknown".
    out.needs_audience = !out.audience.empty();
    out.budget = compile_budget(c);
    for (const auto& cap : c.frequency_caps()) {
      out.frequency_caps.push_back({cap.max_impressions(), compile_period(cap.period())});
    }
    if (c.attribution().click_window_seconds() > 0) {
      out.click_window = c.attribution().click_window_seconds();
    }
    if (c.attribution().view_window_seconds() > 0) {
      out.view_window = c.attribution().view_window_seconds();
    }

    auto model = build_model(c.pricing(), registry, snap->segments, files_dir, who);
    if (!model) return model.error();
    out.model = std::move(*model);
    out.pricing_name = c.pricing().name();

    const auto campaign_index = static_cast<std::uint32_t>(snap->campaigns.size());
    for (const auto& cr : c.creatives()) {
      compiled_creative creative;
      creative.campaign = campaign_index;
      creative.id = cr.id();
      creative.markup = cr.markup();
      creative.landing_url = cr.landing_url();
      creative.attributes.assign(cr.attributes().begin(), cr.attributes().end());
      std::sort(creative.attributes.begin(), creative.attributes.end());
      const auto creative_index = static_cast<std::uint32_t>(snap->creatives.size());
      out.creatives.push_back(creative_index);
      if (cr.has_banner()) {
        creative.media = media_kind::banner;
        std::uint32_t attributes = 0;
        for (std::int32_t a : creative.attributes) attributes |= attribute_bits(a);
        for (const auto& size : cr.banner().sizes()) {
          out.banner_sizes.push_back({size.w(), size.h(), creative_index, attributes});
        }
      } else if (cr.has_video()) {
        creative.media = media_kind::video;
        creative.mimes = sorted_list(cr.video().mimes());
        creative.duration_seconds = cr.video().duration_seconds();
        creative.protocols.assign(cr.video().protocols().begin(), cr.video().protocols().end());
        std::sort(creative.protocols.begin(), creative.protocols.end());
        creative.w = cr.video().w();
        creative.h = cr.video().h();
      } else if (cr.has_audio()) {
        creative.media = media_kind::audio;
        creative.mimes = sorted_list(cr.audio().mimes());
        creative.duration_seconds = cr.audio().duration_seconds();
        creative.protocols.assign(cr.audio().protocols().begin(), cr.audio().protocols().end());
        std::sort(creative.protocols.begin(), creative.protocols.end());
      } else {
        creative.media = media_kind::native;
      }
      snap->creatives.push_back(std::move(creative));
    }
    snap->needs_audience_lookup =
        snap->needs_audience_lookup || out.needs_audience || out.model->uses_audience();
    snap->campaigns.push_back(std::move(out));
  }
  // The vectors are final now: views into their elements stay valid.
  for (compiled_creative& creative : snap->creatives) split_markup(creative);
  for (std::uint32_t i = 0; i < snap->campaigns.size(); ++i) {
    snap->campaign_by_id.emplace(snap->campaigns[i].id, i);
  }
  for (const auto& x : config.experiments()) {
    compiled_experiment experiment;
    experiment.id = x.id();
    experiment.salt = spend::hash64(x.id(), 0x6578706572696d65ULL);
    for (const auto& a : x.arms()) {
      compiled_arm arm;
      arm.id = a.id();
      arm.share = a.share();
      arm.holdout = a.holdout();
      if (a.has_pricing()) {
        auto model = build_model(a.pricing(), registry, snap->segments, files_dir,
                                 "experiment " + x.id() + " arm " + a.id() + ": ");
        if (!model) return model.error();
        snap->needs_audience_lookup = snap->needs_audience_lookup || (*model)->uses_audience();
        arm.model = std::move(*model);
        arm.pricing_name = a.pricing().name();
      }
      experiment.arms.push_back(std::move(arm));
    }
    const auto index = static_cast<std::int32_t>(snap->experiments.size());
    money arms_ceiling;  // the highest an arm's own model quotes
    for (const compiled_arm& arm : experiment.arms) {
      if (arm.model) arms_ceiling = std::max(arms_ceiling, arm.model->ceiling());
    }
    for (const std::string& id : x.campaigns()) {
      auto it = snap->campaign_by_id.find(id);
      if (it == snap->campaign_by_id.end()) continue;
      snap->campaigns[it->second].experiment = index;
      snap->campaigns[it->second].arms_ceiling = arms_ceiling;
    }
    snap->experiments.push_back(std::move(experiment));
  }
  // Every campaign's and model's segment names are interned by now.
  auto third_party = third_party_data::compile(config.data_providers(), snap->segments);
  if (!third_party) return third_party.error();
  snap->third_party = std::move(*third_party);
  std::vector<std::pair<spend::account*, spend::budget>> budgets;
  for (compiled_campaign& c : snap->campaigns) {
    c.account = &snap->spend->open(c.id);
    if (c.experiment >= 0) {
      // Each arm spends from its own share of the budget; the traffic in no arm from the rest.
      const compiled_experiment& x = snap->experiments[static_cast<std::size_t>(c.experiment)];
      double in_arms = 0;
      for (const compiled_arm& arm : x.arms) {
        in_arms += arm.share;
        c.arm_spend.push_back({&snap->spend->open(c.id + "#" + x.id + "/" + arm.id),
                               scaled_budget(c.budget, arm.share)});
        budgets.emplace_back(c.arm_spend.back().account, c.arm_spend.back().budget);
      }
      c.budget = scaled_budget(c.budget, 1.0 - in_arms);
    }
    budgets.emplace_back(c.account, c.budget);
  }
  snap->spend->set_budgets(budgets);
  snap->targeting = targeting_index::build(snap->campaigns, snap->creatives);
  return std::shared_ptr<const snapshot>(std::move(snap));
}

}  // namespace bidder::engine
