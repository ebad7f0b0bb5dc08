// File: bidder/engine/auction.hpp
//
// Runs one auction: given a decoded request and the current campaign snapshot, finds the
// eligible creatives through the snapshot's index, applies the request's rules (blocked
// categories/advertisers/apps/attributes, media and sizes, floors and currencies, PMP deals and
// seats, privacy), looks the user up in the audience store, prices each candidate with its
// campaign's model, and keeps the best bid per impression. Every stage checks the deadline.
//
// One `auction` per worker thread: it owns scratch buffers so the steady state allocates
// nothing. Not thread-safe; the snapshot and the store it reads are.
//
//   engine::auction a(&store, worker_id);
//   auto outcome = a.run(*snap, request, ctx, response);
//   if (outcome.is_bid()) write(response); else reply_204(outcome.reason);
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bidder/audience/store.hpp"
#include "bidder/core/deadline.hpp"
#include "bidder/engine/snapshot.hpp"
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
};

/// deadline = arrival + (tmax, or the configured default) - network allowance.
bidder::deadline compute_deadline(steady_clock::time_point arrival, std::int32_t tmax_ms,
                                  const settings& config) noexcept;

/// True when the request lets us use audience data: no COPPA, no GDPR without a consent
/// string, no US-privacy opt-out of sale, no GPP section we cannot evaluate (see auction.cpp).
bool audience_data_allowed(const openrtb::bid_request& request) noexcept;

class auction {
 public:
  /// `store` may be null (no audience data: contextual campaigns only). `worker_id` and `seed`
  /// make bid ids unique across threads and restarts.
  auction(audience::store* store, std::uint32_t worker_id, std::uint64_t seed);

  outcome run(const snapshot& snap, const openrtb::bid_request& request, const request_context& ctx,
              openrtb::bid_response& out);

  const audience_stats& stats() const noexcept { return stats_; }

 private:
  struct candidate {
    const compiled_creative* creative = nullptr;
    const openrtb::deal* deal = nullptr;
    double price = 0;  // CPM in the response currency
    std::int32_t w = 0, h = 0;
  };

  void look_up_audience(const snapshot& snap, const openrtb::bid_request& request,
                        unix_seconds now);
  bool campaign_eligible(const snapshot& snap, std::uint32_t index,
                         const openrtb::bid_request& request, const request_context& ctx);
  bool audience_matches(const compiled_campaign& c, unix_seconds now) const;
  void consider(const snapshot& snap, const compiled_creative& creative,
                const openrtb::bid_request& request, const openrtb::imp& imp,
                const request_context& ctx, double response_rate, std::int32_t w, std::int32_t h,
                candidate& best);
  void fill_bid(const snapshot& snap, const candidate& winner, const openrtb::imp& imp,
                openrtb::bid& out);

  audience::store* store_;
  std::uint32_t worker_id_;
  std::uint64_t seed_;
  std::uint64_t next_bid_ = 0;
  audience_stats stats_;
  // Scratch, reused across requests.
  // Per-campaign eligibility (cached for one request) and per-creative "already considered"
  // (for one imp), valid while the stamp matches: nothing O(campaigns) is cleared per request.
  std::vector<std::uint32_t> campaign_stamp_;
  std::vector<bool> campaign_ok_;
  std::vector<std::uint32_t> creative_stamp_;
  std::uint32_t request_stamp_ = 0;
  std::uint32_t imp_stamp_ = 0;
  bool below_floor_seen_ = false;
  std::vector<audience::membership_view> memberships_;
  std::vector<segment_membership> segments_;
  bool audience_allowed_ = false;
  std::string key_scratch_;
};

}  // namespace bidder::engine
