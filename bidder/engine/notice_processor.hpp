// File: bidder/engine/notice_processor.hpp
//
// Applies win, bill and loss notices and clicks (docs/notices-and-spend.md) to the spend state: the
// logic behind GET /notice/win|bill|loss and GET /click, apart from HTTP.
//
// A notice is checked, in order, and refused with nothing changed when: its query cannot be
// read (400 bad_request: a missing or unreadable clearing price, a repeated parameter); its
// signature does not match its signed fields (403 bad_signature: forged, or any field
// altered); it is older than notice_max_age_seconds, or issued more than 5 minutes in the
// future (403 too_old); its campaign, creative or exchange is no longer configured (404
// unknown_bid); a
// win or bill clearing price is above the signed bid price (403 price_above_bid); it
// contradicts an earlier one, a loss after a win or bill or a win after a loss (403 conflict).
// A notice already applied (same bid id, same kind) is answered like the first (204, or 302
// for a click) and changes nothing (counted as replay). An exchange's encrypted
// ${AUCTION_PRICE}, which the bidder cannot read, is taken as the signed bid price (an upper
// bound of the clearing price: spend is over-counted rather than lost), and flagged
// (notice_result::priced_at_bid).
//
// What an accepted notice does, by the count_on of the bid's exchange (signed in the URL), or
// the campaign's budget.count_on when it sets one:
//   WIN   win: charge the clearing price, release the bid's reservation, count a win and a
//         frequency-cap impression for each user hash. bill: count (a bill with no win before
//         it also does the win's work).
//   BILL  win: count a win and the impressions, move the reservation to the win time (so it
//         lasts a TTL from the win). bill: charge the clearing price, release the reservation
//         (a bill with no win before it also counts the win and the impressions).
//   A bill after a win charges only if that win did not (its flags say how it was counted), so
//   a reload that changes the rule between a bid's win and bill still charges it once.
//   A win (by either notice) or a loss of a shaded first-price bid (its URL's signed "s") is
//   an outcome for the exchange's bid shading (shading/shader.hpp), with the loss's
//   ${AUCTION_MIN_TO_WIN} when the exchange shares it.
//   loss: release the reservation, count a loss. click: count a click; answer 302 to the
//         creative's landing_url from the current snapshot (never from the URL), to which the
//         HTTP layer adds the click id (the bid id) that conversion postbacks name.
//
// One processor per thread (it owns an HMAC context and parse buffers); lock-free on the spend
// state except for the journal's append (a short mutex, no I/O).
//
//   engine::notice_processor notices(signer, events);
//   auto r = notices.process(snap, notice::notice_kind::win, query, wall_now());
//   res.result(r.status);
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "bidder/engine/event_sink.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/notice/notice_url.hpp"
#include "bidder/notice/signer.hpp"

namespace bidder::engine {

/// Why a notice changed nothing. Values index the metrics' notice error counters.
enum class notice_error : std::uint8_t {
  bad_request,      // 400: the query cannot be read
  bad_signature,    // 403: missing, forged, or a signed field altered
  too_old,          // 403: older than the max age (or from the future)
  unknown_bid,      // 404: its campaign or creative is not configured now
  price_above_bid,  // 403: clearing price above the bid price
  conflict,         // 403: contradicts an earlier notice of the same bid
  replay,           // 2xx: already applied; counted once
  count_,           // number of errors (keep last)
};
std::string_view to_string(notice_error e) noexcept;

struct notice_result {
  unsigned status = 204;              // 204 accepted (or replay), 302 click, 400, 403, 404
  std::optional<notice_error> error;  // set unless the notice was applied now
  std::string_view redirect;          // 302: the landing URL (a view into the snapshot)
  std::string_view click_id;          // 302: our bid id, for the landing URL's click id
  std::string_view message;           // a short reason for refusals (static text)
  /// The clearing price was encrypted: the bid price was charged in its place.
  bool priced_at_bid = false;
};

/// Largest accepted clock difference for a notice issued "in the future" (our clock stepped).
inline constexpr unix_seconds notice_clock_slack = 300;

class notice_processor {
 public:
  /// `events` may be null.
  notice_processor(const notice::signer& signer, event_sink* events);

  /// Checks and applies one notice of `kind` with this query string (after '?') at `now`.
  notice_result process(const snapshot& snap, notice::notice_kind kind, std::string_view query,
                        unix_seconds now);

 private:
  notice::signer::context mac_;
  notice::notice_parser parser_;
  event_sink* events_;
};

}  // namespace bidder::engine
