#include "bidder/spend/account.hpp"

#include <algorithm>
#include <cmath>

namespace bidder::spend {
namespace {

constexpr amount unlimited = std::numeric_limits<amount>::max();
constexpr std::uint32_t full_threshold = std::numeric_limits<std::uint32_t>::max();

// A release this close to the expiry of its bucket is skipped: the ticker may be retiring that
// bucket at the same moment, and a reservation left alone expires by itself within seconds.
constexpr unix_seconds release_margin = 2;

}  // namespace

account::account(std::string id, unix_seconds reservation_ttl, amount fleet_room)
    : id_(std::move(id)),
      id_hash_(hash64(id_)),
      ttl_(std::clamp<unix_seconds>(reservation_ttl, 2, 3600)),
      ring_(ttl_ + reservation_ring_margin),
      buckets_(std::make_unique<std::atomic<amount>[]>(static_cast<std::size_t>(ring_))),
      fleet_room_(fleet_room) {
  for (std::int64_t i = 0; i < ring_; ++i) buckets_[static_cast<std::size_t>(i)].store(0);
}

amount account::spent_day(unix_seconds now) const noexcept {
  const std::int64_t d = day_of(now);
  const day_counter& c = days_[static_cast<std::size_t>(d & 1)];
  return c.day.load(std::memory_order_acquire) == d ? c.spent.load(std::memory_order_relaxed) : 0;
}

amount account::room(const budget& b, unix_seconds now) const noexcept {
  if (!b.limited()) return unlimited;
  const amount reserved = reserved_.load(std::memory_order_relaxed);
  amount room = unlimited;
  if (b.daily > 0) room = std::min(room, b.daily - spent_day(now) - reserved);
  if (b.lifetime > 0) {
    room = std::min(room, b.lifetime - lifetime_.load(std::memory_order_relaxed) - reserved);
  }
  const amount fleet = fleet_room_.load(std::memory_order_relaxed);
  if (fleet != no_fleet_limit) room = std::min(room, fleet - reserved);
  return room;
}

bool account::try_reserve(const budget& b, amount cost, unix_seconds now) noexcept {
  if (b.limited() && now - last_tick_.load(std::memory_order_relaxed) > ticker_stale_after) {
    return false;  // expiry is not running: a reused bucket could lose reservations
  }
  // Add first, then check the sum including our own cost: of several bids racing for the last
  // of a budget, the last to add sees all of them, so they can never pass it together.
  const amount reserved = reserved_.fetch_add(cost, std::memory_order_acq_rel) + cost;
  bucket(now).fetch_add(cost, std::memory_order_relaxed);
  if (!b.limited()) return true;
  const bool fits =
      (b.daily <= 0 || spent_day(now) + reserved <= b.daily) &&
      (b.lifetime <= 0 || lifetime_.load(std::memory_order_acquire) + reserved <= b.lifetime) &&
      reserved <= fleet_room_.load(std::memory_order_acquire);  // always true outside a fleet
  if (!fits) {
    bucket(now).fetch_sub(cost, std::memory_order_relaxed);
    reserved_.fetch_sub(cost, std::memory_order_acq_rel);
  }
  return fits;
}

void account::reserve_unchecked(amount cost, unix_seconds now) noexcept {
  reserved_.fetch_add(cost, std::memory_order_acq_rel);
  bucket(now).fetch_add(cost, std::memory_order_relaxed);
}

void account::release(amount cost, unix_seconds issued) noexcept {
  const std::int64_t retired = retired_through_.load(std::memory_order_acquire);
  if (retired != never && issued <= retired + release_margin) return;  // expired (or about to)
  // A bucket ahead of the ticker by more than the ring would alias a live one.
  const std::int64_t last = last_tick_.load(std::memory_order_relaxed);
  if (last != never && issued > last + reservation_ring_margin / 2) return;
  bucket(issued).fetch_sub(cost, std::memory_order_relaxed);
  reserved_.fetch_sub(cost, std::memory_order_acq_rel);
}

void account::charge(amount cost, unix_seconds now) noexcept {
  const std::int64_t d = day_of(now);
  day_counter& c = days_[static_cast<std::size_t>(d & 1)];
  if (c.day.load(std::memory_order_acquire) != d) prepare_day(d);  // ticker late: do it here
  // Spend first, then the caller releases the reservation: a reader in between sees the cost
  // twice (too little room), never zero times.
  c.spent.fetch_add(cost, std::memory_order_acq_rel);
  lifetime_.fetch_add(cost, std::memory_order_acq_rel);
}

void account::prepare_day(std::int64_t day) noexcept {
  day_counter& c = days_[static_cast<std::size_t>(day & 1)];
  std::int64_t seen = c.day.load(std::memory_order_acquire);
  while (seen < day) {
    // The counter held the day before yesterday (or tomorrow's slot was never used): reset it.
    // The ticker does this a day ahead, so no charge for `day` can be racing with it.
    if (c.day.compare_exchange_weak(seen, day, std::memory_order_acq_rel)) {
      c.spent.store(0, std::memory_order_release);
      return;
    }
  }
}

void account::tick(const budget& b, unix_seconds now) noexcept {
  const std::int64_t through = now - ttl_;
  std::int64_t retired = retired_through_.load(std::memory_order_acquire);
  if (retired == never) retired = through;  // first tick: nothing older exists
  // Each bucket at most once, even after a long stall.
  for (std::int64_t s = std::max(retired + 1, through - ring_ + 1); s <= through; ++s) {
    const amount left = bucket(s).exchange(0, std::memory_order_acq_rel);
    if (left != 0) reserved_.fetch_sub(left, std::memory_order_acq_rel);
  }
  if (through > retired || retired_through_.load(std::memory_order_relaxed) == never) {
    retired_through_.store(std::max(through, retired), std::memory_order_release);
  }
  last_tick_.store(now, std::memory_order_relaxed);
  const std::int64_t d = day_of(now);
  prepare_day(d);
  prepare_day(d + 1);
  pace(b, now);
}

void account::set_rate(double rate) noexcept {
  // NaN (a damaged saved state) would pass the clamp and make the cast below undefined; it
  // counts as 0, which the next pacing tick opens up from.
  rate = rate > 0.0 ? std::min(rate, 1.0) : 0.0;
  const std::uint32_t threshold =
      rate >= 1.0 ? full_threshold : static_cast<std::uint32_t>(rate * 4294967295.0);
  pacing_threshold_.store(threshold, std::memory_order_relaxed);
}

double account::pacing_rate() const noexcept {
  return static_cast<double>(pacing_threshold_.load(std::memory_order_relaxed)) / 4294967295.0;
}

void account::pace(const budget& b, unix_seconds now) noexcept {
  if (b.pacing != pacing_mode::even || b.daily <= 0) {
    if (pacing_threshold_.load(std::memory_order_relaxed) != full_threshold) set_rate(1.0);
    pacing_second_ = never;
    return;
  }
  const std::int64_t d = day_of(now);
  const amount spent = spent_day(now);
  if (pacing_second_ == never) {  // first tick under EVEN: start measuring
    pacing_second_ = now;
    pacing_day_ = d;
    pacing_last_spent_ = spent;
    return;
  }
  const std::int64_t elapsed = now - pacing_second_;
  if (elapsed <= 0) return;
  pacing_second_ = now;
  if (d != pacing_day_) {  // a new day: today's spend starts from zero
    pacing_day_ = d;
    pacing_last_spent_ = 0;
  }
  const double delta = static_cast<double>(std::max<amount>(spent - pacing_last_spent_, 0));
  pacing_last_spent_ = spent;
  // Moving averages; the first samples weigh more so the estimate is usable at once.
  ++pacing_samples_;
  const double alpha = std::max(pacing_smoothing, 1.0 / static_cast<double>(pacing_samples_));
  const double weight = 1.0 - std::pow(1.0 - alpha, static_cast<double>(elapsed));
  demand_spend_ += weight * (delta / static_cast<double>(elapsed) - demand_spend_);
  demand_rate_ += weight * (pacing_rate() - demand_rate_);

  const double remaining = static_cast<double>(b.daily - spent);
  const double seconds_left =
      static_cast<double>(std::max<unix_seconds>((d + 1) * seconds_per_day - now, 1));
  const double target = std::max(remaining, 0.0) / seconds_left;  // spend per second wanted
  const double demand = demand_spend_ / std::max(demand_rate_, min_pacing_rate);
  double rate = 0;
  if (demand <= 0) {
    rate = std::min(1.0, pacing_rate() * 2 + min_pacing_rate);  // nothing spent: open up
  } else {
    rate = target / demand;
  }
  set_rate(std::clamp(rate, min_pacing_rate, 1.0));
}

account::saved account::save(unix_seconds now) const {
  saved out;
  out.day = day_of(now);
  out.spent_day = spent_day(now);
  out.spent_lifetime = spent_lifetime();
  out.wins = wins();
  out.bills = bills();
  out.losses = losses();
  out.clicks = clicks();
  out.pacing_rate = pacing_rate();
  std::int64_t retired = retired_through_.load(std::memory_order_acquire);
  if (retired == never) retired = now - ttl_;
  for (std::int64_t s = std::max(retired + 1, now - ring_ + 1); s <= now; ++s) {
    const amount a =
        buckets_[static_cast<std::size_t>(floor_mod(s))].load(std::memory_order_relaxed);
    if (a != 0) out.reservations.emplace_back(s, a);
  }
  return out;
}

void account::restore(const saved& state, unix_seconds now) noexcept {
  const std::int64_t d = day_of(now);
  if (state.day == d) {
    day_counter& c = days_[static_cast<std::size_t>(d & 1)];
    c.day.store(d);
    c.spent.store(state.spent_day);
  }
  lifetime_.store(state.spent_lifetime);
  wins_.store(state.wins);
  bills_.store(state.bills);
  losses_.store(state.losses);
  clicks_.store(state.clicks);
  set_rate(state.pacing_rate);
  for (const auto& [second, a] : state.reservations) {
    if (second <= now - ttl_ || second > now + reservation_ring_margin / 2) continue;  // expired
    bucket(second).fetch_add(a);
    reserved_.fetch_add(a);
  }
}

}  // namespace bidder::spend
