// File: bench/sim/market.hpp
//
// The simulated market of `bidsim`: a seeded population of synthetic users with hidden
// propensities to click and to convert, the campaigns of the scenario (what they target, what
// a conversion is worth to them), the exchanges (first- or second-price, floors, and competing
// bidders whose bids are lognormal), and the rules of an auction. Everything here is a pure
// function of the scenario and its seed: the same seed gives the same users and the same stream
// of bid opportunities, whatever the bidders answer.
//
//   scenario s = default_scenario();
//   population users = make_population(s);
//   opportunity o = make_opportunity(s, users, 0);       // request 0
//   double v = expected_value_cpm(s, users[o.user], o, 0);   // campaign 0, USD per 1000
//   auction_result r = run_auction(s.exchanges[o.exchange].kind, 2.0, o.floor_cpm,
//                                  o.highest_competitor_cpm);
//
// The model (docs/bidsim.md gives the formulas): logit P(click) and logit P(convert | click)
// are sums of a campaign's base and weights on the user's features (a car-site visit in the
// last 10 days, an affluent zip, an old luxury car, an auto site), effects of the device and the
// hour of day, and a per-user latent term that no segment reveals.
//
// Thread-safety: pure functions over immutable values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bidder::sim {

enum class auction_kind { first_price, second_price };

struct exchange_spec {
  std::string id;
  auction_kind kind = auction_kind::second_price;
  /// Which notice of a bid is spend at the bidder (the config's exchanges[].count_on).
  std::string count_on = "WIN";
  double traffic_share = 1;
  /// The imp's bidfloor is floor_cpm * exp(floor_sigma * N(0,1)).
  double floor_cpm = 0.5;
  double floor_sigma = 0.3;
  /// Competing bidders, each bidding lognormal(competitor_mu, competitor_sigma) CPM.
  unsigned competitors = 3;
  double competitor_mu = 0.4;
  double competitor_sigma = 0.6;
  /// The exchange fills ${AUCTION_MIN_TO_WIN} in loss notices.
  bool shares_min_to_win = false;
  /// The bidder's bid shading on this exchange (config Exchange.shading.mode): OFF, LEARNED or
  /// FACTOR (docs/bid-shading.md).
  std::string shading = "OFF";
};

struct site_spec {
  std::string domain;
  double traffic_share = 1;
  bool auto_content = false;  // a car site: raises the click propensity of car campaigns
  double click_effect = 0;    // added to every campaign's click logit
};

/// One audience requirement of a campaign, as in the config's targeting.audience.all_of.
struct segment_requirement {
  std::string segment;
  int within_days = 0;  // 0: any recency
};

/// Weights of one logit over the user's features.
struct logit_weights {
  double base = 0;
  double recent_car_visit = 0;
  double affluent_zip = 0;
  double old_luxury_car = 0;
  double auto_site = 0;
};

struct campaign_spec {
  std::string id;
  std::string advertiser_domain;
  std::vector<segment_requirement> audience;
  logit_weights click;
  logit_weights conversion;
  /// What one conversion is worth to the advertiser (USD): the bidder is not told.
  double conversion_value = 10;
  double max_cpm = 10;
  /// The "pricing" object of the campaign in the bidder's config (JSON text).
  std::string pricing_json;
};

/// One arm of an experiment: the bidder config's ExperimentArm (docs/experiments.md).
struct experiment_arm_spec {
  std::string id{};
  double share = 0;  ///< of the users, > 0 and at most 1 / (number of arms)
  bool holdout = false;
  /// The arm's "pricing" object in the bidder's config (JSON text); empty: the campaign's own.
  std::string pricing_json{};
};

/// An experiment of the bidder's config, which bidsim passes through unchanged: bidsim does not
/// split users itself, the bidder does, and says which arm each event came from in its report.
struct experiment_spec {
  std::string id{};
  std::vector<std::string> campaigns{};  ///< ids of the scenario's campaigns
  std::vector<experiment_arm_spec> arms{};
};

struct scenario {
  std::uint64_t seed = 1;
  std::uint32_t users = 20'000;
  /// The run simulates days start_day .. start_day + days - 1: request k of the run is request
  /// start_day * requests_per_day + k of the market, so the same seed gives the same market on
  /// those days (a model trained on days 0-6 can be tested on days 7-13).
  std::uint32_t start_day = 0;
  std::uint32_t days = 7;
  std::uint32_t requests_per_day = 50'000;
  std::uint32_t tmax_ms = 100;
  /// Conversion delay after the click, exponential, in simulated hours.
  double conversion_delay_mean_hours = 6;
  std::vector<std::string> affluent_zips;
  std::vector<std::string> other_zips;
  std::vector<site_spec> sites;
  std::vector<exchange_spec> exchanges;
  std::vector<campaign_spec> campaigns;
  /// Click and conversion logit effects by device type (2 PC, 4 phone, 5 tablet) and hour.
  double click_phone = 0.2, click_tablet = 0.1, conversion_pc = 0.4, conversion_phone = -0.3;
  double click_evening = 0.3;  // 18:00-22:59
  double click_night = -0.4;   // 00:00-05:59
  double latent_sigma = 0.5;   // per-user hidden terms, N(0, sigma), one for each logit
  /// The bidder config's experiments (none by default).
  std::vector<experiment_spec> experiments;
};

/// The default scenario (docs/bidsim.md): three exchanges, four campaigns, five sites.
scenario default_scenario();
/// Checks the scenario's numbers. Returns the first problem, or nullopt.
std::optional<std::string> validate(const scenario& s);
/// Checks the experiments as the bidder's config loader does (ids, campaigns of the scenario in
/// at most one experiment each, 2-8 arms, shares, no pricing on a holdout). Returns the first
/// problem, its path named ("experiments[0].arms[1].share: ..."), or nullopt. validate() calls
/// it. In experiment_spec.cpp.
std::optional<std::string> validate_experiments(const scenario& s);
/// The last simulated day a scenario may reach (start_day + days - 1 stays below it).
inline constexpr std::uint32_t max_simulated_days = 3650;

/// Segment names the simulator writes and the campaigns target.
inline constexpr const char* segment_car_visitor = "auto-site-visitor";
inline constexpr const char* segment_affluent = "affluent-zip";
inline constexpr const char* segment_luxury = "old-luxury-car-owner";
/// A car-site visit this recent counts as "recent" in the hidden model.
inline constexpr int recent_visit_days = 10;

struct user {
  std::string id;  // sent as user.buyeruid; stored under buyeruid:<id>
  std::string zip;
  bool affluent = false;
  int car_visit_days_ago = -1;  // -1: never visited a car site
  bool old_luxury_car = false;
  int device_type = 2;
  double click_latent = 0;       // hidden
  double conversion_latent = 0;  // hidden
  bool recent_car_visit() const { return car_visit_days_ago >= 0 && car_visit_days_ago < 10; }
};
using population = std::vector<user>;

population make_population(const scenario& s);

/// Whether the user belongs to the segment with the given recency (0: any), as the bidder's
/// audience store will see it after the push.
bool has_segment(const user& u, const segment_requirement& r);
/// Whether the campaign's audience targeting matches the user (all_of).
bool eligible(const campaign_spec& c, const user& u);

/// One bid request of the simulation and the market's hidden draws for it.
struct opportunity {
  std::uint64_t index = 0;
  std::uint32_t day = 0;
  std::uint64_t sim_second = 0;  // since the start of day 0
  int hour = 0;                  // simulated local hour of day
  std::size_t user = 0;
  std::size_t site = 0;
  std::size_t exchange = 0;
  double floor_cpm = 0;
  /// The best competing bid (CPM), 0 when no competitor bid.
  double highest_competitor_cpm = 0;
  double click_draw = 0;       // uniform: a click happens when below P(click)
  double conversion_draw = 0;  // uniform: a conversion happens when below P(convert | click)
  double conversion_delay_hours = 0;
};

opportunity make_opportunity(const scenario& s, const population& users, std::uint64_t index);
/// The requests of the run: days * requests_per_day.
std::uint64_t total_requests(const scenario& s);
/// The market index of the run's first request: start_day * requests_per_day.
std::uint64_t first_request(const scenario& s);

double click_probability(const scenario& s, const campaign_spec& c, const user& u,
                         const opportunity& o);
double conversion_probability(const scenario& s, const campaign_spec& c, const user& u,
                              const opportunity& o);
/// P(click) * P(convert | click) * conversion value * 1000: USD per thousand impressions.
double expected_value_cpm(const scenario& s, const user& u, const opportunity& o,
                          std::size_t campaign);

struct auction_result {
  bool won = false;
  double clearing_cpm = 0;  // what the winner pays, when won
  int loss_reason = 0;      // OpenRTB loss reason: 100 below floor, 102 outbid
  double min_to_win_cpm = 0;
};
/// Ties go to the competitor. First price: the winner pays its bid. Second price: the highest
/// of the best competing bid and the floor.
auction_result run_auction(auction_kind kind, double bid_cpm, double floor_cpm,
                           double highest_competitor_cpm);

/// P(the best of the exchange's competitors bids below `bid_cpm`).
double win_probability(const exchange_spec& e, double bid_cpm);
/// The bid maximising (value - bid) * P(win) in a first-price auction with this floor; nullopt
/// when no bid has a positive expected surplus.
std::optional<double> best_first_price_bid(const exchange_spec& e, double value_cpm,
                                           double floor_cpm);

}  // namespace bidder::sim
