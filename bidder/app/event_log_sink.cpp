#include "bidder/app/event_log_sink.hpp"

#include <array>
#include <charconv>
#include <cstdint>

#include "bidder/learning/features.hpp"

namespace bidder::app {

// The log keeps every token the learned models price (learning::extract stops at this size).
static_assert(learning::max_text_bytes <= events::max_features_bytes);

namespace {

// The fields a bid and its notices share: which bid, when (the events carry seconds, the log
// keeps milliseconds; 0: now), in which currency, from which exchange.
template <class Event>
void copy_bid_identity(const Event& e, events::event& out) {
  out.time_ms = e.at > 0 ? e.at * 1000 : events::unix_ms_now();
  out.auction_id = e.request_id;
  out.imp_id = e.imp_id;
  out.bid_id = e.bid_id;
  out.campaign_id = e.campaign_id;
  out.creative_id = e.creative_id;
  out.currency = e.currency;
  out.exchange = e.exchange;
  out.experiment = e.experiment;
  out.arm = e.arm;
}

}  // namespace

void event_log_sink::on_bid(const engine::bid_event& e) noexcept {
  events::event out;
  out.kind = events::event_kind::bid;
  copy_bid_identity(e, out);
  out.bid_price = e.price;
  out.model = e.model;
  out.user_key_hash = e.user_hash;
  out.seat = e.seat;
  out.deal_id = e.deal_id;
  if (e.request != nullptr) {
    out.device_type =
        static_cast<std::uint32_t>(e.request->devicetype < 0 ? 0 : e.request->devicetype);
    out.country = e.request->country;
  }
  // What the learned models see of the impression, so `bidder train` can learn from it. On
  // the stack: the log copies it into its queue slot.
  char features[events::max_features_bytes];
  if (e.request != nullptr && e.imp != nullptr) {
    learning::feature_tokens tokens;
    learning::extract({.request = *e.request,
                       .imp = *e.imp,
                       .segments = e.segments,
                       .segment_names = e.segment_names,
                       .now = e.at,
                       .exchange = e.exchange},
                      tokens);
    out.features = std::string_view(features, learning::write_text(tokens, features));
  }
  log_.append(out);  // false: dropped and counted by the log
}

void event_log_sink::on_notice(const engine::notice_event& e) noexcept {
  events::event out;
  switch (e.kind) {
    case notice::notice_kind::win:
      out.kind = events::event_kind::win;
      break;
    case notice::notice_kind::bill:
      out.kind = events::event_kind::bill;
      break;
    case notice::notice_kind::loss:
      out.kind = events::event_kind::loss;
      break;
    case notice::notice_kind::click:
      out.kind = events::event_kind::click;
      break;
    case notice::notice_kind::count_:
      return;
  }
  copy_bid_identity(e, out);  // the time is the notice's arrival
  // The user as the bid saw them (its first signed id hash), so a warehouse can chain a user's
  // touches (multi-touch attribution, per-user statistics). Loss URLs carry no ids.
  std::array<std::uint64_t, 1> first;
  if (notice::read_user_hashes(e.users, first) == 1) out.user_key_hash = first[0];
  out.bid_price = e.bid_price;
  out.clearing_price = e.clearing_price.value_or(money());
  out.charged = e.charged;
  // ${AUCTION_LOSS} is an OpenRTB loss-reason code; anything else is recorded as 0 (unknown).
  std::uint32_t reason = 0;
  auto [end, ec] =
      std::from_chars(e.loss_reason.data(), e.loss_reason.data() + e.loss_reason.size(), reason);
  if (ec == std::errc() && end == e.loss_reason.data() + e.loss_reason.size())
    out.loss_reason = reason;
  log_.append(out);
}

}  // namespace bidder::app
