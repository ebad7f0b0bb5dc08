// File: bidder/engine/event_sink.hpp
//
// Where the engine hands every bid it makes and every notice it accepts (win, bill, loss,
// click), for the event log that attribution and ROI reports read. The event log itself
// (bidder/events/, a rotating file writer with a bounded queue) implements this interface; the
// engine only calls it, from bid and notice threads, so an implementation must not block or
// throw (drop and count when its queue is full). Null sink: nothing is recorded.
//
//   class my_log final : public engine::event_sink { ... };
//   engine::auction a(&store, worker, seed, {.signer = &s, .events = &log});
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "bidder/core/deadline.hpp"
#include "bidder/core/money.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/notice/notice_url.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::engine {

/// One bid sent to an exchange (not one the bid handler turned into a late no-bid). Views are
/// valid during the call only.
struct bid_event {
  std::string_view request_id;
  std::string_view imp_id;
  std::string_view bid_id;
  std::string_view campaign_id;
  std::string_view creative_id;
  money price;                // CPM in `currency`
  std::string_view currency;  // the response currency
  std::string_view deal_id;   // empty: open auction
  std::string_view seat;
  std::string_view exchange;    // the exchange's id (config Exchange.id)
  std::string_view experiment;  // the experiment and arm that priced it; empty: none
  std::string_view arm;
  unix_seconds at = 0;
  /// The request the bid answers (device, geo, user ids...), for fields the log wants.
  const openrtb::bid_request* request = nullptr;
  /// The imp the bid is for (null when not known), the user's segments as the pricing models
  /// saw them (empty when unknown or not allowed), and their names: what the learned models'
  /// features are made of (bidder/learning/features.hpp).
  const openrtb::imp* imp = nullptr;
  std::span<const segment_membership> segments;
  const segment_dictionary* segment_names = nullptr;
  /// The pricing model that priced the bid (config pricing.name: the arm's when it overrides).
  std::string_view model;
  /// The keyed hash of the user's first id, as the bid's notice URLs carry it; absent when the
  /// request had no usable id or privacy signals forbade using it.
  std::optional<std::uint64_t> user_hash;
};

/// One accepted notice (replays and refused notices are not events; they are counted).
struct notice_event {
  notice::notice_kind kind = notice::notice_kind::win;
  std::string_view request_id;
  std::string_view imp_id;
  std::string_view bid_id;
  std::string_view campaign_id;
  std::string_view creative_id;
  money bid_price;                      // CPM in `currency`, as signed in the bid
  std::optional<money> clearing_price;  // ${AUCTION_PRICE}, when given
  std::string_view currency;
  std::string_view loss_reason;  // loss notices: ${AUCTION_LOSS}
  std::string_view exchange;     // the bid's exchange, as signed in the notice URL
  /// The user's id hashes signed in the URL (notice::read_user_hashes reads them); empty when
  /// the request had no usable id or privacy signals forbade using it.
  std::string_view users;
  /// The experiment and arm of the bid's user (from the first signed user hash and the current
  /// config; the split is stable, so it is the bid's); empty: none.
  std::string_view experiment;
  std::string_view arm;
  unix_seconds issued_at = 0;  // when the bid was made
  unix_seconds at = 0;         // when the notice arrived
  /// Win and bill: this notice charged the campaign's spend (the ledger's count_on rule).
  bool charged = false;
};

/// A conversion reported by a pixel (GET /conversion on the bid port), checked by the bid
/// handler against its pixel's limits. Views are valid during the call only.
struct pixel_conversion {
  std::string_view advertiser;     // the pixel's
  std::string_view conversion_id;  // the page's order id
  money value;                     // in `currency`; zero when none
  std::string_view currency;       // upper-case; empty when no value
  std::string_view click_id;       // our click id from the landing URL (bclid)
  unix_seconds at = 0;
};

/// A browsing event reported by a segment pixel (GET /segment on the bid port), checked by the
/// bid handler against its pixel's limits. Views are valid during the call only.
struct segment_pixel_event {
  std::string_view source;  // the pixel's event source (config SegmentPixel.source)
  /// The user ids as given (`id=` parameters, audience-file prefixes); at most
  /// max_segment_pixel_ids, each checked by the consumer.
  std::span<const std::string_view> user_ids;
  std::string_view action;  // one the pixel allows
  std::string_view url;     // the page; may be empty
  unix_seconds at = 0;
};
inline constexpr std::size_t max_segment_pixel_ids = 4;

class event_sink {
 public:
  virtual ~event_sink() = default;
  /// Bid thread, once per bid in a response. Must not block.
  virtual void on_bid(const bid_event& event) noexcept = 0;
  /// Notice thread, once per accepted notice. Must not block.
  virtual void on_notice(const notice_event& event) noexcept = 0;
  /// Bid thread: queue a pixel's conversion for attribution. Must not block; false when it
  /// cannot be taken (no conversion store, or its queue is full).
  virtual bool on_pixel_conversion(const pixel_conversion&) noexcept { return false; }
  /// Bid thread: queue a segment pixel's event. Must not block; false when it cannot be taken
  /// (no event intake, or its queue is full).
  virtual bool on_segment_pixel(const segment_pixel_event&) noexcept { return false; }
  /// Bid thread: the status a segment pixel request was answered (for metrics). Must not block.
  virtual void on_segment_pixel_answer(unsigned /*status*/) noexcept {}
};

}  // namespace bidder::engine
