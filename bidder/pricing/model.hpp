// File: bidder/pricing/model.hpp
//
// The pricing-model interface. A model turns one impression (plus what the engine knows about
// the user) into a CPM, or declines. Models do no I/O, take no locks, never throw, and are
// immutable and thread-safe once built: the engine calls them concurrently from every worker.
//
//   pricing::quote q = model.price(input);
//   if (q.is_bid()) use(q.price());
//
// The engine, not the model, applies the campaign's max CPM cap and the floor, so every model
// obeys them.
#pragma once

#include <cstdint>
#include <span>

#include "bidder/core/deadline.hpp"
#include "bidder/core/money.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::pricing {

/// A model's answer: a CPM price, or no bid (a decision, not an error).
class quote {
 public:
  static quote bid(money price) noexcept { return quote(price); }
  static quote no_bid() noexcept { return quote(money()); }
  bool is_bid() const noexcept { return !price_.is_zero(); }
  money price() const noexcept { return price_; }

 private:
  explicit quote(money price) : price_(price) {}
  money price_;
};

/// Scratch space models may use to share work between the campaigns priced for one imp (the
/// learned model's feature extraction, the same for every campaign). The auction sets `owner`
/// to 0 before each imp; a model that finds its own non-zero tag there may reuse the bytes it
/// stored, else it computes and stores them and sets its tag. One per auction (thread).
struct imp_scratch {
  std::uint64_t owner = 0;
  alignas(16) unsigned char bytes[1536];
};

/// Everything a model may use. Plain values and views, valid for the duration of the call.
struct pricing_input {
  const openrtb::bid_request& request;
  const openrtb::imp& imp;
  /// The user's segment memberships (empty for unknown users and when privacy rules forbid
  /// audience data), sorted by segment id.
  std::span<const segment_membership> segments;
  /// The floor this bid must reach, in the campaign's currency.
  money floor;
  /// The campaign's cap, in the campaign's currency.
  money max_cpm;
  /// Wall-clock time (UTC) for recency and hour-of-day rules; the user's local time is
  /// now + request.utcoffset_minutes when the request has it (see local_hour()).
  unix_seconds now = 0;
  /// The id of the exchange the request came from (config Exchange.id).
  std::string_view exchange = {};
  /// The campaign being priced (one model may price several: an experiment arm's).
  std::string_view campaign_id = {};
  /// The imp's scratch (see imp_scratch); null: none, compute everything.
  imp_scratch* scratch = nullptr;
};

class model {
 public:
  virtual ~model() = default;
  /// Prices one impression. Must be fast (sub-microsecond), noexcept and thread-safe.
  virtual quote price(const pricing_input& input) const noexcept = 0;
  /// An upper bound on every price() this model can quote. The auction walks campaigns from the
  /// highest bound down and stops once none left can beat the best bid, so a tight bound saves
  /// work on every request; the default (no bound: the campaign's max CPM applies) is always
  /// correct. A bound below a real quote would lose auctions: the conformance suite checks it.
  virtual money ceiling() const noexcept { return money::from_micros(INT64_MAX); }
  /// True when price() reads `pricing_input::segments`. The auction looks the user up in the
  /// audience store only when some campaign needs the result (audience targeting, or a model
  /// that says yes here), so a model that reads segments and says no would only ever see none.
  /// The conformance suite checks that a model that reads them says so.
  virtual bool uses_audience() const noexcept { return false; }
};

/// The hour of day (0-23) at `now` in the user's time zone when the request gives it
/// (device.geo.utcoffset, else user.geo.utcoffset), else in UTC.
inline std::int32_t local_hour(const openrtb::bid_request& request, unix_seconds now) noexcept {
  const std::int64_t local = now + std::int64_t{request.utcoffset_minutes.value_or(0)} * 60;
  const std::int64_t hour = (local / 3600) % 24;
  return static_cast<std::int32_t>(hour < 0 ? hour + 24 : hour);
}

/// Finds a membership of `segment` in the sorted `segments`, if any.
inline const segment_membership* find_segment(std::span<const segment_membership> segments,
                                              segment_id segment) noexcept {
  // Users belong to a handful of segments; a linear scan beats a binary search at that size.
  for (const segment_membership& m : segments) {
    if (m.segment == segment) return &m;
    if (m.segment > segment) break;
  }
  return nullptr;
}

/// True when the membership exists and, if `within_days` > 0, was seen that recently.
inline bool seen_within(const segment_membership* m, std::uint32_t within_days,
                        unix_seconds now) noexcept {
  if (m == nullptr) return false;
  if (within_days == 0) return true;
  return now - m->last_seen <= static_cast<unix_seconds>(within_days) * 86400;
}

}  // namespace bidder::pricing
