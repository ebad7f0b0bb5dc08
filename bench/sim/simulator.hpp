// File: bench/sim/simulator.hpp
//
// Runs one bidder through the simulated days of a scenario: for each opportunity it builds the
// OpenRTB 2.6 request, asks the bidder, runs the exchange's auction against the competitors,
// fires the win, bill and loss notices, the click (with the hidden click propensity), and the
// delayed conversions (POST /admin/conversions), and tallies the outcome per simulated day and
// per campaign.
//
//   scenario s = default_scenario();
//   population users = make_population(s);
//   oracle_bidder oracle(s, users);
//   run_result r = simulate(s, users, oracle, {});
//
// Time. Simulated time is injected, never read from a clock: request k of the run belongs to
// day k / requests_per_day, at an even spacing over that day, and a conversion is due its
// (simulated) delay after its click. The outcome depends only on the seed and the bidder's
// answers. What goes to a live bidder carries wall-clock times it accepts (notices at once,
// conversions with the time they are sent), and device.geo.utcoffset is set so that the
// bidder's local hour of the request is the simulated hour.
//
// Thread-safety: one call per bidder object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sim/bidders.hpp"
#include "bench/sim/market.hpp"

namespace bidder::sim {

/// Outcomes of one day (or of the run) for one campaign, or all of them.
struct tally {
  std::uint64_t requests = 0;  // per campaign: requests whose user the campaign targets
  std::uint64_t bids = 0;
  std::uint64_t wins = 0;
  std::uint64_t clicks = 0;
  std::uint64_t conversions = 0;
  double spend = 0;           // USD: clearing prices / 1000
  double value = 0;           // USD: the conversions' value
  double expected_value = 0;  // USD: the true expected value of the impressions won
  // The true expected conversions of the impressions won: conversions without the noise of
  // the draws, to compare bidders' conversions per unit of spend.
  double expected_conversions = 0;

  void add(const tally& o);
  double cpa() const { return conversions ? spend / static_cast<double>(conversions) : 0; }
  double roas() const { return spend > 0 ? value / spend : 0; }
  double surplus() const { return value - spend; }
  /// Expected conversions per USD spent.
  double expected_conversions_per_spend() const {
    return spend > 0 ? expected_conversions / spend : 0;
  }
  bool operator==(const tally&) const = default;
};

/// What happened on the wire with a live bidder (all zero for in-process ones).
struct live_counts {
  std::map<std::string, std::uint64_t> bid_errors;  // by bid_error_name
  std::uint64_t no_bids = 0;
  std::uint64_t bids_below_floor = 0;            // bids the auction refused for the floor
  std::uint64_t late_answers = 0;                // answered after tmax (still used)
  std::map<std::string, std::uint64_t> notices;  // "win 204", "loss 403", "bill failed", ...
  std::uint64_t clicks_fired = 0, clicks_redirected = 0, clicks_without_url = 0;
  std::uint64_t conversions_posted = 0, conversions_not_sent = 0;
  std::uint64_t conversions_accepted = 0, conversions_unmatched = 0;
  std::uint64_t conversions_duplicate = 0, conversions_refused = 0;
  std::vector<std::string> samples;  // the first few error details
  bool operator==(const live_counts&) const = default;
};

struct run_result {
  std::string bidder;
  std::uint64_t requests = 0;                   // sent (or asked, in process)
  std::uint64_t conversions_pending = 0;        // due after the last simulated day: not counted
  bool stopped_early = false;                   // --duration ran out
  std::vector<tally> days;                      // all campaigns, per day
  std::vector<std::vector<tally>> by_campaign;  // [day][campaign]
  std::vector<tally> campaign_totals;           // [campaign]
  std::vector<tally> exchange_totals;           // [exchange]: requests are the exchange's own
  tally total;
  live_counts live;
  double wall_seconds = 0;  // not part of the outcome
  /// The outcome only (not wall time): equal for equal seeds and answers.
  bool same_outcome(const run_result& o) const;
};

struct simulate_options {
  /// Stop sending after this many requests (0: the scenario's days * requests_per_day).
  std::uint64_t max_requests = 0;
  /// Wall-clock bound on the run; 0: none.
  std::chrono::nanoseconds max_duration{0};
  /// Conversions to a live bidder go out in batches of at most this many lines.
  std::size_t conversion_batch = 500;
  /// The wall clock (unix seconds) for times sent to a live bidder; tests may fix it.
  std::function<std::int64_t()> wall_clock;
};

run_result simulate(const scenario& s, const population& users, sim_bidder& bidder,
                    const simulate_options& options);

/// The OpenRTB 2.6 JSON of an opportunity. `utc_offset_minutes` makes the bidder's local hour
/// the simulated one (see above).
std::string request_json(const scenario& s, const population& users, const opportunity& o,
                         int utc_offset_minutes);
/// The utcoffset (minutes, -720..660) that turns the UTC hour of `unix_now` into `local_hour`.
int offset_for_local_hour(std::int64_t unix_now, int local_hour);
/// The landing page's query parameter that carries the click id (the bidder's click redirect
/// adds it, as ad platforms do); an advertiser's conversion postback sends it back.
inline constexpr std::string_view click_id_parameter = "bclid";
/// The click id in a redirect's Location, percent-decoded; empty when none.
std::string landing_click_id(std::string_view location);
/// Substitutes the exchange macros of a notice URL.
std::string substitute_macros(std::string url, const std::string& auction_id, double price_cpm,
                              int loss_reason, double min_to_win_cpm, bool share_min_to_win);

}  // namespace bidder::sim
