// File: bidder/engine/auction.hpp
//
// Runs one auction: given a decoded request and the current campaign snapshot, finds the
// eligible creatives through the snapshot's index, applies the request's rules (blocked
// categories/advertisers/apps/attributes, media and sizes, floors and currencies, PMP deals and
// seats, privacy), looks the user up in the audience store, prices each candidate with its
// campaign's model, and keeps the best bid per impression. Every stage checks the deadline.
//
// Spend rules, per campaign, decided once per request without locks or I/O (spend/): the
// budget has room (spent + reserved < budget), the EVEN pacing throttle lets this request
// through, and the user is under every frequency cap under each of the ids the request carries.
// The winning bid of each imp reserves its price in the campaign's account and carries notice
// URLs (nurl, burl, lurl, and {{CLICK_URL}} in the markup) signed with the notice key.
//
// Bid shading (shading/shader.hpp): on a first-price request (`at` 1) from an exchange whose
// shading is on, the winning candidate's price (its value) is lowered to the shaded price,
// never under the floor nor above the value; its notice URLs carry what the learner needs.
//
// One `auction` per worker thread: it owns scratch buffers so the steady state allocates
// nothing. Not thread-safe; the snapshot and the store it reads are.
//
//   engine::auction a(&store, worker_id, seed, {.signer = &signer});
//   auto outcome = a.run(*snap, request, ctx, response);
//   if (outcome.is_bid() && in_time) { write(response); a.report_bids(request, response, now); }
//   else { a.cancel_bids(); reply_204(outcome.reason); }
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bidder/audience/store.hpp"
#include "bidder/core/deadline.hpp"
#include "bidder/engine/campaign_set.hpp"
#include "bidder/engine/event_sink.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/notice/signer.hpp"
#include "bidder/openrtb/bid_request.hpp"
#include "bidder/openrtb/bid_response.hpp"

namespace bidder::engine {

/// Why a request got no bid. Values index the metrics' no-bid counters.
enum class no_bid_reason : std::uint8_t {
  no_matching_creative,  // no creative of a matching media type/size, or all filtered out
  below_floor,           // priced, but under the floor (or capped below it)
  currency,              // none of the request's `cur` is in currency_rates
  seat_blocked,          // our seat is not in wseat, or is in bseat
  deadline,              // not enough time left to finish
  budget,                // the only candidates' campaigns have no budget left
  pacing,                // ... were held back by their EVEN pacing throttle
  frequency_cap,         // ... reached a frequency cap for this user (or have no user id)
  overload,              // shed unread: the worker was running behind (http::server)
  expired_on_arrival,    // the deadline had passed before the request was read whole (tmax
                         // under the network allowance, or it queued or trickled in past it)
  holdout,               // the only candidates' campaigns hold this user out (an experiment arm)
  count_,                // number of reasons (keep last)
};
std::string_view to_string(no_bid_reason reason) noexcept;

struct outcome {
  bool bid = false;
  no_bid_reason reason = no_bid_reason::no_matching_creative;
  bool is_bid() const noexcept { return bid; }
};

/// Audience look-up results for one request, by status. Summed into /metrics.
/// Written by one worker thread, read by the metrics endpoint: relaxed atomics.
struct audience_stats {
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> found{0};
  std::atomic<std::uint64_t> not_in_memory{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> skipped_for_privacy{0};
};

struct request_context {
  steady_clock::time_point arrival;
  bidder::deadline deadline;
  unix_seconds wall_now = 0;
  /// Returns the current time; tests inject a fake to walk past the deadline.
  steady_clock::time_point (*now)() = &steady_clock::now;
  /// Index into the snapshot's exchanges of the exchange that sent the request (the bid
  /// handler resolves POST /bid/{exchange} with snapshot::find_exchange); nullopt: the
  /// snapshot's default exchange.
  std::optional<std::uint32_t> exchange;
};

/// deadline = arrival + (tmax, or the configured default) - network allowance.
bidder::deadline compute_deadline(steady_clock::time_point arrival, std::int32_t tmax_ms,
                                  const settings& config) noexcept;

/// True when the request lets us use audience data: no COPPA, no GDPR without a consent
/// string, no US-privacy opt-out of sale, no GPP section we cannot evaluate (see auction.cpp).
bool audience_data_allowed(const openrtb::bid_request& request,
                           std::uint16_t gdpr_vendor_id = 0) noexcept;

/// What an auction signs with and reports to; all optional.
struct auction_services {
  /// Signs the notice URLs; null: URLs carry no signature (every notice is then refused).
  const notice::signer* signer = nullptr;
  /// Keys the hashes of user ids in frequency-cap entries (signer::derive_secret).
  std::uint64_t user_hash_secret = 0;
  /// Receives every bid sent (report_bids). Null: none.
  event_sink* events = nullptr;
};

/// Longest list of user hashes a notice URL carries (config max_user_ids is at most 16).
inline constexpr std::size_t max_user_hashes = 16;

class auction {
 public:
  /// `store` may be null (no audience data: contextual campaigns only). `worker_id` and `seed`
  /// make bid ids unique across threads and restarts.
  auction(audience::store* store, std::uint32_t worker_id, std::uint64_t seed,
          const auction_services& services = {});

  /// Runs the auction. Each bid in `out` has reserved its price in its campaign's account:
  /// the caller then either sends the response and calls report_bids(), or drops it and calls
  /// cancel_bids(); a reserved_bids guard (below) does one or the other on every path. A run
  /// also gives back what an earlier run reserved and nobody reported or cancelled.
  outcome run(const snapshot& snap, const openrtb::bid_request& request, const request_context& ctx,
              openrtb::bid_response& out);
  /// The response of the last run() is not sent: gives its reservations back.
  void cancel_bids() noexcept;
  /// The response of the last run() (answering `request`) was sent: its reservations stay
  /// until their notices, and its bids go to the event sink.
  void report_bids(const openrtb::bid_request& request, const openrtb::bid_response& sent,
                   unix_seconds now) noexcept;

  const audience_stats& stats() const noexcept { return stats_; }
  /// The reservations of the last run() not yet reported or cancelled.
  std::size_t pending_reservations() const noexcept { return reservations_.size(); }

 private:
  struct candidate {
    const compiled_creative* creative = nullptr;
    const openrtb::deal* deal = nullptr;
    double price = 0;  // CPM in the response currency
    std::int32_t w = 0, h = 0;
    const compiled_experiment* experiment = nullptr;  // the experiment arm that priced it
    const compiled_arm* arm = nullptr;
    int arm_index = -1;
    double floor = 0;  // the floor it had to reach, in the response currency
    // Bid shading (first-price requests on an exchange that shades): the price before it.
    bool shaded = false;
    std::size_t shading_segment = 0;
    std::uint8_t shading_arm = 0;
    double value_usd = 0;
  };

  // The store keys of the request's user that the config uses (for_each_user_key), built once
  // per request: the prefetch, the audience look-up and the frequency-cap hashes read them.
  std::span<const std::string> user_keys(const snapshot& snap, const openrtb::bid_request& request);
  void look_up_audience(const snapshot& snap, const openrtb::bid_request& request,
                        unix_seconds now);
  bool campaign_eligible(const snapshot& snap, std::uint32_t index,
                         const openrtb::bid_request& request, const request_context& ctx);
  bool audience_matches(const compiled_campaign& c, unix_seconds now) const;
  const compiled_creative* fitting_creative(const snapshot& snap, const compiled_campaign& c,
                                            const openrtb::imp& imp, std::int32_t& w,
                                            std::int32_t& h) const;
  void consider(const snapshot& snap, std::uint32_t campaign_index,
                const openrtb::bid_request& request, const openrtb::imp& imp,
                const request_context& ctx, double response_rate, candidate& best);
  bool spend_allows(const snapshot& snap, const compiled_campaign& c,
                    const compiled_campaign::spend_slot& slot, const openrtb::bid_request& request,
                    const request_context& ctx);
  bool under_frequency_caps(const snapshot& snap, const compiled_campaign& c,
                            const openrtb::bid_request& request, unix_seconds now);
  void hash_user_ids(const snapshot& snap, const openrtb::bid_request& request);
  bool reserve(const snapshot& snap, const candidate& winner, std::string_view currency,
               unix_seconds now);
  void fill_bid(const snapshot& snap, const candidate& winner, const openrtb::bid_request& request,
                const openrtb::imp& imp, std::string_view currency, unix_seconds now,
                std::size_t index, openrtb::bid& out);
  std::uint32_t next_draw() noexcept;
  void shade(const compiled_exchange& exchange, const openrtb::bid_request& request,
             double response_rate, candidate& best) noexcept;

  audience::store* store_;
  std::uint32_t worker_id_;
  std::uint64_t seed_;
  auction_services services_;
  std::optional<notice::signer::context> mac_;
  std::uint64_t next_bid_ = 0;
  std::uint64_t rng_;  // xorshift state for the pacing throttle
  audience_stats stats_;
  // Scratch, reused across requests.
  // Per-campaign eligibility (cached for one request), valid while the stamp matches: nothing
  // O(campaigns) is cleared per request.
  std::vector<std::uint32_t> campaign_stamp_;
  std::vector<bool> campaign_ok_;
  std::vector<std::int8_t> campaign_arm_;  // the user's arm of the campaign's experiment; -1: none
  std::uint32_t request_stamp_ = 0;
  // The campaigns the request may reach (targeting_index::filter), those an imp may reach,
  // and working space.
  campaign_set eligible_, slot_set_, scratch_set_;
  double imp_floor_usd_ = 0;          // the current imp's floor in USD; negative: unconvertible
  std::uint32_t imp_battr_bits_ = 0;  // the current imp's banner.battr as attribute_bits
  bool below_floor_seen_ = false;
  bool budget_seen_ = false;
  bool pacing_seen_ = false;
  bool frequency_seen_ = false;
  bool holdout_seen_ = false;
  // The user's ids, hashed with the secret, for frequency caps (once per request, lazily).
  bool users_hashed_ = false;
  std::size_t user_count_ = 0;
  std::array<std::uint64_t, max_user_hashes> user_hashes_{};
  std::string users_text_;  // the same as hex, '.'-separated, for the notice URLs
  // Reservations made by the last run(), for cancel_bids().
  struct reservation {
    spend::account* account;
    spend::amount cost;
    unix_seconds issued;
  };
  std::vector<reservation> reservations_;
  // Per bid of the response (by index): the experiment arm that priced it, for its event.
  // Per bid of the response: the experiment arm and the pricing model that priced it.
  struct bid_origin {
    const compiled_experiment* experiment = nullptr;
    const compiled_arm* arm = nullptr;
    std::string_view model;
  };
  std::vector<bid_origin> bid_origins_;
  // Per bid (a deque: no moves, so the bids' views stay valid): its signed click URL and its
  // markup with that URL in place.
  struct clicked_markup {
    std::string click_url, markup;
  };
  std::deque<clicked_markup> clicked_markups_;
  std::string signature_;
  std::string shading_text_;  // the notice URLs' "s" of the bid being filled
  std::vector<audience::membership_view> memberships_;
  std::vector<segment_membership> segments_;
  bool audience_allowed_ = false;
  std::string key_scratch_;
  std::vector<std::string> user_keys_;  // user_keys(): the first user_key_count_ are this request's
  std::size_t user_key_count_ = 0;
  bool user_keys_built_ = false;
  // Work the pricing models share between the campaigns of one imp (cleared per imp).
  pricing::imp_scratch pricing_scratch_;
  // The segment names of the last run()'s snapshot, for report_bids (the caller keeps the
  // snapshot alive until then).
  const segment_dictionary* segment_names_ = nullptr;
  // The exchange of the last run() (a view into its snapshot's exchanges), for report_bids.
  std::string_view exchange_;
};

/// The obligation of one auction::run(): its bids hold budget reservations until the response
/// is sent (sent(): they stay until their notices, and the bids go to the event sink) or not
/// (anything else, an exception included: destroyed without sent(), it gives them back).
///
///   engine::reserved_bids pending(auction);
///   if (auction.run(snap, request, ctx, response).is_bid() && write(response)) {
///     pending.sent(request, response, now);
///   }
class reserved_bids {
 public:
  explicit reserved_bids(auction& a) noexcept : auction_(&a) {}
  ~reserved_bids() {
    if (auction_ != nullptr) auction_->cancel_bids();
  }
  reserved_bids(const reserved_bids&) = delete;
  reserved_bids& operator=(const reserved_bids&) = delete;

  /// The response went out (see auction::report_bids).
  void sent(const openrtb::bid_request& request, const openrtb::bid_response& response,
            unix_seconds now) noexcept {
    auction_->report_bids(request, response, now);
    auction_ = nullptr;
  }

 private:
  auction* auction_;
};

}  // namespace bidder::engine
