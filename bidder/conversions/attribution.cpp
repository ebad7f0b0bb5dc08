#include "bidder/conversions/attribution.hpp"

namespace bidder::conversions {

std::string_view to_string(unmatched_reason reason) noexcept {
  switch (reason) {
    case unmatched_reason::no_touch:
      return "no_touch";
    case unmatched_reason::other_advertiser:
      return "other_advertiser";
    case unmatched_reason::before_touch:
      return "before_touch";
    case unmatched_reason::outside_window:
      return "outside_window";
  }
  return "no_touch";
}

credit attribute(unix_seconds at, std::span<const touch> candidates,
                 const std::function<const campaign_terms*(std::string_view)>& terms,
                 const std::function<bool(const touch&)>& belongs) {
  credit out;
  const touch* last_click = nullptr;
  const touch* last_view = nullptr;
  bool any_own = false, any_before = false;
  // Later wins; at equal times the smaller bid id, so the choice never depends on the order.
  auto later = [](const touch* best, const touch& t) {
    return best == nullptr || t.at > best->at || (t.at == best->at && t.bid_id < best->bid_id);
  };
  for (const touch& t : candidates) {
    const campaign_terms* c = terms(t.campaign_id);
    if (c == nullptr || !belongs(t)) continue;
    any_own = true;
    if (t.at > at) continue;
    any_before = true;
    const unix_seconds window = t.kind == touch_kind::click ? c->click_window : c->view_window;
    if (at - t.at > window) continue;
    const touch*& best = t.kind == touch_kind::click ? last_click : last_view;
    if (later(best, t)) best = &t;
  }
  if (last_click != nullptr) {
    out.credited = last_click;
    out.rule = credit_rule::last_click;
  } else if (last_view != nullptr) {
    out.credited = last_view;
    out.rule = credit_rule::last_view;
  } else if (candidates.empty()) {
    out.reason = unmatched_reason::no_touch;
  } else if (!any_own) {
    out.reason = unmatched_reason::other_advertiser;
  } else if (!any_before) {
    out.reason = unmatched_reason::before_touch;
  } else {
    out.reason = unmatched_reason::outside_window;
  }
  return out;
}

}  // namespace bidder::conversions
