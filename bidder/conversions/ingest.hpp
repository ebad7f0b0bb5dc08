// File: bidder/conversions/ingest.hpp
//
// Takes a postback body (postback.hpp) to stored, attributed conversions: the logic of
// POST /admin/conversions apart from HTTP and the event log.
//
// For each line, in order:
// 1. Parse and validate it (postback.hpp); then refuse it, with the reason, when its campaign
//    is not configured, its advertiser is not one of the campaign's (or of any campaign's), or
//    its currency has no rate.
// 2. De-duplicate: the key is the advertiser (the named campaign's first advertiser domain when
//    only a campaign is named) and the conversion id. A key already stored, or earlier in the
//    same body, is a duplicate: counted, nothing stored.
// 3. Attribute (attribution.hpp): the touches named by click_id, bid_id and the user ids'
//    hashes, restricted to the conversion's campaign or advertiser; last click within the
//    touch campaign's click window, else last view within its view window. The value is
//    converted into the credited touch's currency. Nothing eligible: stored unattributed, with
//    the reason counted.
// 4. Commit every new conversion of the body in one synced write (conversion_store::commit):
//    an answer of 200 means none is lost. A store error refuses the whole body (503), nothing
//    half-applied.
//
//   conversions::ingest_context ctx{.campaign = ..., .convert = ..., .hash_user = ...};
//   auto r = conversions::ingest_postback(store, body, wall_now(), ctx);
//   if (!r) answer_503(r.error());
//   // then: r->committed to the event log, and store.clear_outbox(r->outbox_ids)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/conversions/attribution.hpp"
#include "bidder/conversions/conversion_store.hpp"
#include "bidder/conversions/postback.hpp"
#include "bidder/core/money.hpp"

namespace bidder::conversions {

struct ingest_context {
  /// The terms of a configured campaign; null when it is not configured.
  std::function<const campaign_terms*(std::string_view campaign_id)> campaign;
  /// Whether any configured campaign lists this advertiser domain.
  std::function<bool(std::string_view advertiser)> advertiser_known;
  /// `value` in currency `from` converted into `to`; nullopt when a currency has no rate.
  std::function<std::optional<money>(money value, std::string_view from, std::string_view to)>
      convert;
  /// The hash the bid path signs into notice URLs for this user key ("buyeruid:...").
  std::function<std::uint64_t(std::string_view user_key)> hash_user;
};

struct ingest_result {
  std::size_t accepted = 0;   // stored and attributed
  std::size_t unmatched = 0;  // stored, not attributed
  std::size_t duplicate = 0;  // already stored (or earlier in the body): nothing stored
  std::size_t refused = 0;    // bad lines: nothing stored
  std::vector<refused_line> refused_lines;  // the first 100, with their reasons
  std::array<std::size_t, unmatched_reason_count> unmatched_by_reason{};
  std::size_t lookups = 0;                   // touch-store reads made to attribute
  std::uint64_t lookup_nanos = 0;            // their total time
  std::vector<stored_conversion> committed;  // what was stored, in body order
  std::vector<std::uint64_t> outbox_ids;     // their outbox entries
};

/// Errors: io_error (the store failed; nothing was stored).
[[nodiscard]] result<ingest_result> ingest_postback(conversion_store& store, std::string_view body,
                                                    unix_seconds now, const ingest_context& ctx);

/// The answer of POST /admin/conversions: {"accepted":..,"unmatched":..,"duplicate":..,
/// "refused":..,"unmatched_reasons":{..},"refused_lines":[{"line":..,"reason":".."}]}.
std::string to_json(const ingest_result& r);

}  // namespace bidder::conversions
