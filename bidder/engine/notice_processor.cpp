#include "bidder/engine/notice_processor.hpp"

#include "bidder/core/codec.hpp"

namespace bidder::engine {
namespace {

using notice::notice_kind;
namespace flags = spend::bid_flags;

notice_result refuse(unsigned status, notice_error e, std::string_view message) {
  return {.status = status, .error = e, .redirect = {}, .click_id = {}, .message = message};
}

// The flags a notice of `kind` sets on a bid whose flags are `f`; nullopt when it changes
// nothing (a replay or a conflict: see classify()).
std::optional<std::uint64_t> next_flags(std::uint64_t f, notice_kind kind, spend::count_on on) {
  switch (kind) {
    case notice_kind::win:
      if ((f & (flags::loss | flags::win)) != 0) return std::nullopt;
      f |= flags::win;
      if (on == spend::count_on::bill && (f & flags::released) == 0) {
        f |= flags::released | flags::won_reserved;  // the reservation moves to the win time
      } else {
        f |= flags::released;
      }
      return f;
    case notice_kind::bill:
      if ((f & (flags::loss | flags::bill)) != 0) return std::nullopt;
      return f | flags::bill | flags::win | flags::released;  // a bill implies the win
    case notice_kind::loss:
      if ((f & (flags::loss | flags::win | flags::bill)) != 0) return std::nullopt;
      return f | flags::loss | flags::released;
    case notice_kind::click:
      if ((f & flags::click) != 0) return std::nullopt;
      return f | flags::click;
    case notice_kind::count_:
      break;
  }
  return std::nullopt;
}

// Why a notice of `kind` changed nothing on a bid with flags `f`.
notice_error classify(std::uint64_t f, notice_kind kind) {
  switch (kind) {
    case notice_kind::win:
    case notice_kind::bill:
      return (f & flags::loss) != 0 ? notice_error::conflict : notice_error::replay;
    case notice_kind::loss:
      return (f & (flags::win | flags::bill)) != 0 ? notice_error::conflict : notice_error::replay;
    default:
      return notice_error::replay;
  }
}

// A shaded first-price bid's outcome (its signed "s" field says which segment and arm, and
// its value) teaches its exchange's shading. Everything else comes from the exchange, so any
// of it may be garbage: observe() drops what is out of range.
void learn_shading(const snapshot& snap, const compiled_exchange& x, const notice::parsed_notice& n,
                   bool won, const std::optional<money>& clearing_price) {
  const std::optional<shading::notice_field> field = shading::read_notice_field(n.id.shading);
  const double rate = snap.rate(n.id.currency);  // > 0: checked before
  if (!field || x.shading_state == nullptr || !(rate > 0)) return;
  shading::outcome o{.segment = field->segment,
                     .arm = field->arm,
                     .value = field->value,
                     .bid = money::from_micros(n.id.price_micros).units() / rate,
                     .won = won,
                     .clearing = 0,
                     .min_to_win = std::nullopt};
  if (won && clearing_price) o.clearing = clearing_price->units() / rate;
  if (!won && n.min_to_win) o.min_to_win = n.min_to_win->units() / rate;
  x.shading_state->observe(o);
}

}  // namespace

std::string_view to_string(notice_error e) noexcept {
  switch (e) {
    case notice_error::bad_request:
      return "bad_request";
    case notice_error::bad_signature:
      return "bad_signature";
    case notice_error::too_old:
      return "too_old";
    case notice_error::unknown_bid:
      return "unknown_bid";
    case notice_error::price_above_bid:
      return "price_above_bid";
    case notice_error::conflict:
      return "conflict";
    case notice_error::replay:
      return "replay";
    case notice_error::count_:
      break;
  }
  return "unknown";
}

notice_processor::notice_processor(const notice::signer& signer, event_sink* events)
    : mac_(signer.new_context()), events_(events) {}

notice_result notice_processor::process(const snapshot& snap, notice_kind kind,
                                        std::string_view query, unix_seconds now) {
  auto parsed_or = parser_.parse(kind, query);
  if (!parsed_or) {
    // The parser's message names the parameter; the answer keeps a static text (no allocation
    // per refused notice), and the error kind is counted.
    return refuse(400, notice_error::bad_request,
                  parsed_or.error().code == errc::too_large
                      ? "query string too long"
                      : "a parameter is missing, repeated or unreadable (price, reason, min)");
  }
  const notice::parsed_notice& n = *parsed_or;
  if (!mac_.verify(n.id, n.signature)) {
    return refuse(403, notice_error::bad_signature, "signature missing or not matching the notice");
  }
  const unix_seconds issued = n.id.issued_at;
  if (now - issued > snap.config.notice_max_age || issued - now > notice_clock_slack) {
    return refuse(403, notice_error::too_old, "notice older than notice_max_age_seconds");
  }
  const compiled_campaign* campaign = snap.find_campaign(n.id.campaign_id);
  const compiled_creative* creative =
      campaign == nullptr ? nullptr : snap.find_creative(*campaign, n.id.creative_id);
  if (creative == nullptr || campaign->account == nullptr || snap.rate(n.id.currency) <= 0) {
    return refuse(404, notice_error::unknown_bid, "campaign or creative not configured");
  }
  const std::optional<std::uint32_t> exchange = snap.find_exchange(n.id.exchange);
  if (!exchange) return refuse(404, notice_error::unknown_bid, "exchange not configured");
  if (kind == notice_kind::click && creative->landing_url.empty()) {
    return refuse(404, notice_error::unknown_bid, "the creative has no landing_url");
  }
  const money bid_price = money::from_micros(n.id.price_micros);
  // An encrypted ${AUCTION_PRICE} cannot be read, and dropping the notice would leave the spend
  // uncounted (the budget unenforced). The bid price, which the clearing price never exceeds,
  // is charged instead: spend is over-counted, the safe side, and the notice is counted apart.
  const std::optional<money> clearing_price = n.price_encrypted ? bid_price : n.clearing_price;
  if ((kind == notice_kind::win || kind == notice_kind::bill) && clearing_price &&
      *clearing_price > bid_price) {
    return refuse(403, notice_error::price_above_bid, "clearing price above the bid price");
  }

  spend::ledger& ledger = *snap.spend;
  spend::account& account = *campaign->account;  // counts and frequency keys
  // An experiment's bid spent from its arm's share of the budget: the arm, as the bid's, from the
  // user's first signed id (the split depends only on it and the experiment).
  int arm = -1;
  if (campaign->experiment >= 0) {
    std::array<std::uint64_t, 1> first;
    if (notice::read_user_hashes(n.id.users, first) == 1) {
      arm = snap.experiments[static_cast<std::size_t>(campaign->experiment)].arm_of(first[0]);
    }
  }
  spend::account& payer = *campaign->slot(arm).account;  // money: reservations and charges
  const spend::count_on on = snap.counted_on(*campaign, snap.exchanges[*exchange]);
  const std::uint64_t key = spend::bid_key(n.id.bid_id);
  const auto update = ledger.bids().update(key, issued, now, [&](std::uint64_t state) {
    const std::optional<std::uint64_t> f = next_flags(spend::flags_of(state), kind, on);
    if (!f) return std::optional<std::uint64_t>();
    std::uint64_t next = (state & ~std::uint64_t{0xff}) | *f;
    if ((*f & flags::won_reserved) != 0 && (spend::flags_of(state) & flags::won_reserved) == 0) {
      next = spend::with_win_delay(next, now - issued);
    }
    return std::optional<std::uint64_t>(next);
  });
  const std::uint64_t before = spend::flags_of(update.before);
  const std::uint64_t after = spend::flags_of(update.after);
  notice_result result;
  result.priced_at_bid = n.price_encrypted;
  if (kind == notice_kind::click) {
    result.status = 302;
    result.redirect = creative->landing_url;
    result.click_id = n.id.bid_id;
  }
  if (before == after) {
    result.error = classify(before, kind);
    if (*result.error == notice_error::conflict) {
      return refuse(403, notice_error::conflict, "contradicts an earlier notice of this bid");
    }
    return result;  // a replay: answered as the first time, nothing changes
  }

  // The transition is ours alone (one compare-and-swap): apply its effects exactly once.
  const std::uint64_t added = after & ~before;
  const spend::amount bid_cost = campaign_cost(snap, *campaign, bid_price, n.id.currency);
  const spend::amount clearing_cost =
      clearing_price ? campaign_cost(snap, *campaign, *clearing_price, n.id.currency) : 0;
  if ((added & flags::win) != 0) {
    account.count_win();
    // Frequency caps count under every id of the user (only capped campaigns' bids, whose
    // users were hashed for the cap, carry them in general; all do when attribution is on).
    // In a fleet, another bidder's share may have counted them already (docs/fleet.md).
    if (!campaign->frequency_caps.empty() && (before & flags::impressions_shared) == 0) {
      std::array<std::uint64_t, 16> users;
      const std::size_t count = notice::read_user_hashes(n.id.users, users);
      for (std::size_t i = 0; i < count; ++i) {
        users[i] = spend::frequency_key(users[i], account.id_hash());
        ledger.changes().add(ledger.frequency().increment(users[i], now));
      }
      if (ledger.fleet() != nullptr && count > 0) {
        ledger.fleet()->on_impressions(n.id.bid_id, issued, std::span(users.data(), count), now);
      }
    }
  }
  // A win charges when the rule is WIN. A bill charges unless an earlier win already did: the
  // bid's own flags say so (a win under BILL set won_reserved), not the rule now, which a reload
  // may have changed between the two notices.
  const bool charges = (added & flags::bill) != 0
                           ? (before & flags::win) == 0 || (before & flags::won_reserved) != 0
                           : (added & flags::win) != 0 && on == spend::count_on::win;
  if (charges) payer.charge(clearing_cost, now);  // before the release: see account.hpp
  // Fleet mode (docs/fleet.md): the charge is settled once fleet-wide by the fleet thread, and
  // only the bidder that issued the bid holds its reservation; the issuer's reservation of a bid
  // notified elsewhere stays until its TTL (too little room for a while, never too much).
  spend::fleet_link* fleet = ledger.fleet();
  const bool reserved_here = fleet == nullptr || fleet->issued_here(n.id.bid_id);
  if (charges && fleet != nullptr)
    fleet->on_charge(payer, n.id.bid_id, issued, clearing_cost, bid_cost, now);
  if (reserved_here) {
    if ((added & flags::won_reserved) != 0) {
      payer.release(bid_cost, issued);
      payer.reserve_unchecked(bid_cost, now);
    } else if ((added & flags::released) != 0) {
      payer.release(bid_cost, issued);
    } else if ((added & flags::bill) != 0 && (before & flags::won_reserved) != 0) {
      payer.release(bid_cost, issued + spend::win_delay_of(update.before));
    }
  }
  if ((added & flags::bill) != 0) account.count_bill();
  if ((added & flags::loss) != 0) account.count_loss();
  if ((added & flags::click) != 0) account.count_click();
  if (update.remembered) ledger.changes().add(spend::journal::bid_record{key, update.after});
  if ((added & (flags::win | flags::loss)) != 0 && !n.id.shading.empty()) {
    learn_shading(snap, snap.exchanges[*exchange], n, (added & flags::win) != 0, clearing_price);
  }

  if (events_ != nullptr) {
    std::string_view experiment_id, arm_id;
    if (arm >= 0) {
      const compiled_experiment& x =
          snap.experiments[static_cast<std::size_t>(campaign->experiment)];
      experiment_id = x.id;
      arm_id = x.arms[static_cast<std::size_t>(arm)].id;
    }
    events_->on_notice({.kind = kind,
                        .request_id = n.id.request_id,
                        .imp_id = n.id.imp_id,
                        .bid_id = n.id.bid_id,
                        .campaign_id = n.id.campaign_id,
                        .creative_id = n.id.creative_id,
                        .bid_price = bid_price,
                        .clearing_price = clearing_price,
                        .currency = n.id.currency,
                        .loss_reason = n.loss_reason,
                        .exchange = n.id.exchange,
                        .users = n.id.users,
                        .experiment = experiment_id,
                        .arm = arm_id,
                        .issued_at = issued,
                        .at = now,
                        .charged = charges});
  }
  return result;
}

}  // namespace bidder::engine
