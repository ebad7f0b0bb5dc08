// File: bench/sim/market.cpp
#include "bench/sim/market.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/sim/rng.hpp"

namespace bidder::sim {
namespace {

constexpr const char* rules_type = "type.googleapis.com/bidder.models.rules.v1.RulesConfig";
constexpr const char* fixed_type = "type.googleapis.com/bidder.models.fixed.v1.FixedConfig";

std::string fixed_pricing(double cpm) {
  char buf[160];
  std::snprintf(buf, sizeof buf, R"({"name":"fixed","config":{"@type":"%s","cpm":%.2f}})",
                fixed_type, cpm);
  return buf;
}

std::string rules_pricing(double base, const std::string& rules) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", base);
  return std::string(R"({"name":"rules","config":{"@type":")") + rules_type + R"(","base_cpm":)" +
         buf + R"(,"rules":[)" + rules + "]}}";
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double standard_normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Picks an index by the shares (they need not sum to 1).
template <typename T, typename Share>
std::size_t pick(const std::vector<T>& items, double u, Share share) {
  double total = 0;
  for (const T& item : items) total += share(item);
  double acc = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    acc += share(items[i]) / total;
    if (u < acc) return i;
  }
  return items.size() - 1;
}

double feature_logit(const logit_weights& w, const user& u, const site_spec& site) {
  return w.base + (u.recent_car_visit() ? w.recent_car_visit : 0) +
         (u.affluent ? w.affluent_zip : 0) + (u.old_luxury_car ? w.old_luxury_car : 0) +
         (site.auto_content ? w.auto_site : 0);
}

}  // namespace

scenario default_scenario() {
  scenario s;
  s.affluent_zips = {"90210", "10021", "94027", "33109", "60043"};
  s.other_zips = {"10001", "60601", "73301", "98101", "30301", "85001", "19101", "48201"};
  s.sites = {{"autos-weekly.example", 0.15, true, 0.3},
             {"daily-news.example", 0.35, false, 0.0},
             {"money-today.example", 0.15, false, 0.1},
             {"recipes.example", 0.2, false, -0.2},
             {"sports-hub.example", 0.15, false, 0.0}};
  // Competitor medians exp(mu): 1.6, 1.2 and 1.4 CPM.
  s.exchanges = {{.id = "fp-exchange",
                  .kind = auction_kind::first_price,
                  .count_on = "WIN",
                  .traffic_share = 0.4,
                  .floor_cpm = 0.5,
                  .floor_sigma = 0.3,
                  .competitors = 3,
                  .competitor_mu = 0.47,
                  .competitor_sigma = 0.6,
                  .shares_min_to_win = true},
                 {.id = "sp-exchange",
                  .kind = auction_kind::second_price,
                  .count_on = "WIN",
                  .traffic_share = 0.4,
                  .floor_cpm = 0.4,
                  .floor_sigma = 0.3,
                  .competitors = 4,
                  .competitor_mu = 0.18,
                  .competitor_sigma = 0.7,
                  .shares_min_to_win = false},
                 {.id = "sp-billing",
                  .kind = auction_kind::second_price,
                  .count_on = "BILL",
                  .traffic_share = 0.2,
                  .floor_cpm = 0.6,
                  .floor_sigma = 0.2,
                  .competitors = 2,
                  .competitor_mu = 0.34,
                  .competitor_sigma = 0.5,
                  .shares_min_to_win = false}};
  std::string affluent = "[";
  for (std::size_t i = 0; i < s.affluent_zips.size(); ++i) {
    affluent += i ? ",\"" : "\"";
    affluent += s.affluent_zips[i];
    affluent += '"';
  }
  affluent += "]";
  s.campaigns = {
      {.id = "auto-intenders",
       .advertiser_domain = "dealer.example",
       .audience = {{segment_car_visitor, recent_visit_days}},
       .click = {.base = -5.0,
                 .recent_car_visit = 0.8,
                 .affluent_zip = 0.3,
                 .old_luxury_car = 0.4,
                 .auto_site = 0.5},
       .conversion =
           {.base = -2.7, .recent_car_visit = 0.6, .affluent_zip = 0.4, .old_luxury_car = 0.7},
       .conversion_value = 7,
       .max_cpm = 12,
       .pricing_json = rules_pricing(
           2.5, R"({"multiplier":1.5,"zip_in":{"values":)" + affluent + "}}," +
                    R"({"multiplier":1.4,"segment":{"segment":"old-luxury-car-owner"}},)" +
                    R"({"multiplier":1.2,"hour_of_day_in":{"values":[18,19,20,21,22]}},)" +
                    R"({"multiplier":0.8,"device_type_in":{"values":[4]}})")},
      {.id = "luxury-upgrade",
       .advertiser_domain = "luxury-motors.example",
       .audience = {{segment_luxury, 0}},
       .click = {.base = -5.4,
                 .recent_car_visit = 0.6,
                 .affluent_zip = 0.3,
                 .old_luxury_car = 0.0,
                 .auto_site = 0.4},
       .conversion =
           {.base = -2.5, .recent_car_visit = 0.8, .affluent_zip = 0.5, .old_luxury_car = 0.0},
       .conversion_value = 12,
       .max_cpm = 10,
       .pricing_json = fixed_pricing(3.0)},
      {.id = "affluent-reach",
       .advertiser_domain = "wealth.example",
       .audience = {{segment_affluent, 0}},
       .click = {.base = -5.0, .affluent_zip = 0.0, .old_luxury_car = 0.2},
       .conversion = {.base = -2.9, .affluent_zip = 0.0, .old_luxury_car = 0.3},
       .conversion_value = 9,
       .max_cpm = 6,
       .pricing_json = fixed_pricing(1.5)},
      {.id = "run-of-network",
       .advertiser_domain = "shop.example",
       .audience = {},
       .click = {.base = -4.8, .affluent_zip = 0.2},
       .conversion = {.base = -3.1, .affluent_zip = 0.3},
       .conversion_value = 5,
       .max_cpm = 4,
       .pricing_json =
           rules_pricing(1.0, R"({"multiplier":1.25,"hour_of_day_in":{"values":[18,19,20,21,22]}},)"
                              R"({"multiplier":1.2,"device_type_in":{"values":[2]}})")}};
  return s;
}

std::optional<std::string> validate(const scenario& s) {
  if (s.users == 0) return "users: must be > 0";
  if (s.days == 0) return "days: must be > 0";
  if (std::uint64_t{s.start_day} + s.days > max_simulated_days) {
    return "start_day + days: at most " + std::to_string(max_simulated_days);
  }
  if (s.requests_per_day == 0) return "requests per day: must be > 0";
  if (s.tmax_ms == 0) return "tmax: must be > 0";
  if (s.sites.empty() || s.exchanges.empty() || s.campaigns.empty()) {
    return "the scenario needs sites, exchanges and campaigns";
  }
  if (s.affluent_zips.empty() || s.other_zips.empty()) return "the scenario needs zips";
  for (const exchange_spec& e : s.exchanges) {
    if (!(e.traffic_share > 0) || !(e.floor_cpm >= 0) || !(e.competitor_sigma > 0)) {
      return "exchange " + e.id + ": shares > 0, floors >= 0, sigma > 0";
    }
  }
  return validate_experiments(s);
}

population make_population(const scenario& s) {
  population users;
  users.reserve(s.users);
  for (std::uint32_t i = 0; i < s.users; ++i) {
    const draw d{s.seed, stream::user, i};
    user u;
    char id[32];
    std::snprintf(id, sizeof id, "sim-u%07u", i);
    u.id = id;
    u.affluent = d.uniform(0) < 0.22;
    const auto& zips = u.affluent ? s.affluent_zips : s.other_zips;
    u.zip = zips[static_cast<std::size_t>(d.uniform(1) * static_cast<double>(zips.size()))];
    if (d.uniform(2) < 0.35) u.car_visit_days_ago = static_cast<int>(d.uniform(3) * 30);
    u.old_luxury_car = d.uniform(4) < (u.affluent ? 0.25 : 0.06);
    const double dev = d.uniform(5);
    u.device_type = dev < 0.45 ? 2 : dev < 0.9 ? 4 : 5;
    u.click_latent = s.latent_sigma * d.normal(6);
    u.conversion_latent = s.latent_sigma * d.normal(7);
    users.push_back(std::move(u));
  }
  return users;
}

bool has_segment(const user& u, const segment_requirement& r) {
  if (r.segment == segment_car_visitor) {
    if (u.car_visit_days_ago < 0) return false;
    return r.within_days == 0 || u.car_visit_days_ago < r.within_days;
  }
  if (r.segment == segment_affluent) return u.affluent;
  if (r.segment == segment_luxury) return u.old_luxury_car;
  return false;
}

bool eligible(const campaign_spec& c, const user& u) {
  return std::all_of(c.audience.begin(), c.audience.end(),
                     [&](const segment_requirement& r) { return has_segment(u, r); });
}

std::uint64_t total_requests(const scenario& s) {
  return std::uint64_t{s.days} * s.requests_per_day;
}

std::uint64_t first_request(const scenario& s) {
  return std::uint64_t{s.start_day} * s.requests_per_day;
}

opportunity make_opportunity(const scenario& s, const population& users, std::uint64_t index) {
  const draw d{s.seed, stream::request, index};
  opportunity o;
  o.index = index;
  o.day = static_cast<std::uint32_t>(index / s.requests_per_day);
  const std::uint64_t in_day = index % s.requests_per_day;
  // Requests are spread evenly over the simulated day.
  o.sim_second = std::uint64_t{o.day} * 86'400 + (in_day * 86'400 + 43'200) / s.requests_per_day;
  o.hour = static_cast<int>((o.sim_second % 86'400) / 3600);
  o.user = std::min<std::size_t>(users.size() - 1,
                                 static_cast<std::size_t>(d.uniform(0) * double(users.size())));
  o.site = pick(s.sites, d.uniform(1), [](const site_spec& x) { return x.traffic_share; });
  o.exchange =
      pick(s.exchanges, d.uniform(2), [](const exchange_spec& x) { return x.traffic_share; });
  const exchange_spec& e = s.exchanges[o.exchange];
  // Floors are whole cents, as exchanges send them.
  o.floor_cpm = std::round(e.floor_cpm * std::exp(e.floor_sigma * d.normal(3)) * 100) / 100;
  const draw c{s.seed, stream::competitor, index};
  for (unsigned i = 0; i < e.competitors; ++i) {
    const double b = std::exp(e.competitor_mu + e.competitor_sigma * c.normal(i));
    o.highest_competitor_cpm = std::max(o.highest_competitor_cpm, b);
  }
  const draw out{s.seed, stream::outcome, index};
  o.click_draw = out.uniform(0);
  o.conversion_draw = out.uniform(1);
  o.conversion_delay_hours = out.exponential(2, s.conversion_delay_mean_hours);
  return o;
}

double click_probability(const scenario& s, const campaign_spec& c, const user& u,
                         const opportunity& o) {
  const site_spec& site = s.sites[o.site];
  double x = feature_logit(c.click, u, site) + site.click_effect + u.click_latent;
  if (u.device_type == 4) x += s.click_phone;
  if (u.device_type == 5) x += s.click_tablet;
  if (o.hour >= 18 && o.hour <= 22) x += s.click_evening;
  if (o.hour <= 5) x += s.click_night;
  return logistic(x);
}

double conversion_probability(const scenario& s, const campaign_spec& c, const user& u,
                              const opportunity& o) {
  double x = feature_logit(c.conversion, u, s.sites[o.site]) + u.conversion_latent;
  if (u.device_type == 2) x += s.conversion_pc;
  if (u.device_type == 4) x += s.conversion_phone;
  return logistic(x);
}

double expected_value_cpm(const scenario& s, const user& u, const opportunity& o,
                          std::size_t campaign) {
  const campaign_spec& c = s.campaigns[campaign];
  return 1000.0 * click_probability(s, c, u, o) * conversion_probability(s, c, u, o) *
         c.conversion_value;
}

auction_result run_auction(auction_kind kind, double bid_cpm, double floor_cpm,
                           double highest_competitor_cpm) {
  auction_result r;
  if (bid_cpm < floor_cpm) {
    r.loss_reason = 100;
    r.min_to_win_cpm = std::max(floor_cpm, highest_competitor_cpm + 0.01);
    return r;
  }
  if (bid_cpm <= highest_competitor_cpm) {
    r.loss_reason = 102;
    r.min_to_win_cpm = highest_competitor_cpm + 0.01;
    return r;
  }
  r.won = true;
  r.clearing_cpm =
      kind == auction_kind::first_price ? bid_cpm : std::max(highest_competitor_cpm, floor_cpm);
  return r;
}

double win_probability(const exchange_spec& e, double bid_cpm) {
  if (bid_cpm <= 0) return 0;
  const double one =
      standard_normal_cdf((std::log(bid_cpm) - e.competitor_mu) / e.competitor_sigma);
  return std::pow(one, static_cast<double>(e.competitors));
}

std::optional<double> best_first_price_bid(const exchange_spec& e, double value_cpm,
                                           double floor_cpm) {
  const double lo = std::max(floor_cpm, 0.01);
  if (!(value_cpm > lo)) return std::nullopt;
  auto surplus = [&](double b) { return (value_cpm - b) * win_probability(e, b); };
  // A coarse grid, then a finer one around its best point: the objective is unimodal for
  // lognormal competitors, and a cent of precision is all an exchange takes.
  constexpr int steps = 64;
  double best = lo;
  double best_surplus = surplus(lo);
  double width = (value_cpm - lo) / steps;
  for (int i = 1; i < steps; ++i) {
    const double b = lo + width * i;
    if (const double v = surplus(b); v > best_surplus) best_surplus = v, best = b;
  }
  const double from = std::max(lo, best - width);
  width = 2 * width / steps;
  for (int i = 0; i <= steps; ++i) {
    const double b = from + width * i;
    if (b >= value_cpm) break;
    if (const double v = surplus(b); v > best_surplus) best_surplus = v, best = b;
  }
  if (!(best_surplus > 0)) return std::nullopt;
  return std::round(best * 100) / 100;
}

}  // namespace bidder::sim
