// File: bidder/conversions/attribution.hpp
//
// The attribution rule: which of a user's touches gets the credit for a conversion. Default
// model, per industry practice: the last click within the click window, else the last view
// (a win or bill) within the view window; windows per campaign (config Campaign.attribution,
// default 30 days and 1 day). A touch after the conversion never counts.
//
//   auto credit = conversions::attribute(conversion_time, touches, terms_of, belongs);
//   if (credit.touch) ... else count(credit.reason);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/conversions/conversion_store.hpp"
#include "bidder/conversions/touch.hpp"

namespace bidder::conversions {

/// What attribution needs of a campaign (from the config).
struct campaign_terms {
  unix_seconds click_window = 30 * 86'400;
  unix_seconds view_window = 86'400;
  std::vector<std::string> advertiser_domains;
  std::string first_advertiser;  // the de-duplication scope of a conversion naming the campaign
};

/// Why a conversion was stored without credit.
enum class unmatched_reason : std::uint8_t {
  no_touch,          // no touch under its ids (unknown click or bid id, user never reached)
  other_advertiser,  // touches, but none of the conversion's campaign or advertiser
  before_touch,      // the only touches came after the conversion
  outside_window,    // touches, but older than the windows
};
inline constexpr std::size_t unmatched_reason_count = 4;
/// "no_touch", "other_advertiser", "before_touch", "outside_window".
std::string_view to_string(unmatched_reason reason) noexcept;

struct credit {
  const touch* credited = nullptr;  // into the candidates; null: unattributed
  credit_rule rule = credit_rule::unattributed;
  unmatched_reason reason = unmatched_reason::no_touch;  // when unattributed
};

/// Picks the credited touch among `candidates` (any order, repeats allowed) for a conversion at
/// `at`. `terms(campaign_id)` gives a touch's campaign terms (null: no longer configured, the
/// touch is skipped); `belongs(touch)` says whether the touch is of the conversion's campaign
/// or advertiser.
credit attribute(unix_seconds at, std::span<const touch> candidates,
                 const std::function<const campaign_terms*(std::string_view)>& terms,
                 const std::function<bool(const touch&)>& belongs);

}  // namespace bidder::conversions
