// File: bidder/spend/account.hpp
//
// One campaign's spend: what it spent today and over its life, what its bids still out have
// reserved, and the pacing throttle. Shared by every thread, lock-free: bid threads read it
// and reserve, notice handlers charge and release, one ticker thread expires reservations,
// rolls days and adjusts pacing once a second. Accounts live in the ledger (ledger.hpp) for the
// life of the process, so reloads keep them.
//
// Reservations and the overspend bound. A bid reserves its price (try_reserve) only when
// spent + reserved + price fits the daily and the lifetime budget; the check and the
// reservation are one atomic add, so concurrent bids can never together pass a budget. A win
// (or bill) notice charges the clearing price, which is at most the bid price (the notice
// processor refuses a higher one), and then releases the reservation: the sum can only go down.
// A reservation not released by a notice expires after the reservation TTL. So spend exceeds a
// budget only by notices that arrive after their bid's reservation expired (TTL after the bid,
// or after the win with count_on BILL), plus bids lost in a crash (docs/notices-and-spend.md).
// Reservations are kept per second of issue in a ring of TTL + 16 buckets: a notice releases from
// the bucket of its signed issue time, and the ticker subtracts whatever a bucket still holds when
// it expires.
//
// Pacing (EVEN): every second the ticker estimates the campaign's demand (spend per second it
// would reach bidding on everything, from a moving average of spend over the throttle rate)
// and sets the throttle to (budget left / seconds left in the UTC day) / demand, within
// [min_pacing_rate, 1]. Bid threads bid on a share of eligible requests equal to the rate.
//
//   spend::account& a = ledger.open("summer-sale");
//   if (a.room(budget, now) >= cost && a.try_reserve(budget, cost, now)) bid(...);
//   a.charge(clearing_cost, now); a.release(cost, issued_at);          // win notice
//   a.tick(budget, now);                                               // ticker, each second
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bidder/spend/basics.hpp"

namespace bidder::spend {

enum class pacing_mode : std::uint8_t { asap, even };
enum class count_on : std::uint8_t { win, bill };

/// A campaign's limits, compiled from the config (immutable; in the engine snapshot).
struct budget {
  amount daily = 0;     // 0: no daily limit
  amount lifetime = 0;  // 0: no lifetime limit
  pacing_mode pacing = pacing_mode::asap;
  /// Which notice is spend for this campaign; nullopt (the default): the exchange's count_on.
  std::optional<count_on> counted_on;
  bool limited() const noexcept { return daily > 0 || lifetime > 0; }
};

/// Lowest throttle rate of an EVEN campaign, so its demand keeps being measured.
inline constexpr double min_pacing_rate = 1.0 / 4096;
/// Weight of the newest second in the pacing demand averages (about a 20-second memory).
inline constexpr double pacing_smoothing = 0.05;
/// Buckets beyond the TTL in the reservation ring: how long the ticker may stall before
/// budget-limited campaigns stop bidding (fail closed) rather than risk a reused bucket.
inline constexpr unix_seconds reservation_ring_margin = 16;
inline constexpr unix_seconds ticker_stale_after = reservation_ring_margin - 2;

/// fleet_room() of an account outside fleet mode: no fleet limit.
inline constexpr amount no_fleet_limit = std::numeric_limits<amount>::max();

class account {
 public:
  /// `reservation_ttl` in seconds (2..3600). `fleet_room`: no_fleet_limit (one process), or 0
  /// in fleet mode, where bids wait for the first lease (docs/fleet.md).
  account(std::string id, unix_seconds reservation_ttl, amount fleet_room = no_fleet_limit);
  account(const account&) = delete;
  account& operator=(const account&) = delete;

  const std::string& id() const noexcept { return id_; }
  /// hash64(id): keys the campaign in frequency-cap entries.
  std::uint64_t id_hash() const noexcept { return id_hash_; }

  // ---- bid path: lock-free, no allocation ----

  /// What is left now: the smaller of (daily budget - spent today - reserved) and (lifetime
  /// budget - spent - reserved); may be negative; max() when `b` has no limit.
  amount room(const budget& b, unix_seconds now) const noexcept;
  /// Reserves `cost` for a bid issued at `now`. False, reserving nothing, when it does not fit
  /// in room(), or when `b` is limited and the ticker has not run for ticker_stale_after.
  [[nodiscard]] bool try_reserve(const budget& b, amount cost, unix_seconds now) noexcept;
  /// Gives back a reservation of `cost` made at `issued`. No effect once it expired.
  void release(amount cost, unix_seconds issued) noexcept;
  /// The pacing throttle: true for a share pacing_rate() of uniformly drawn `draw`s.
  bool pacing_allows(std::uint32_t draw) const noexcept {
    return draw <= pacing_threshold_.load(std::memory_order_relaxed);
  }

  // ---- notice path ----

  /// Adds `cost` to today's and the lifetime spend.
  void charge(amount cost, unix_seconds now) noexcept;
  /// Reserves without a budget check: a won bid (count_on BILL) keeps its price reserved from
  /// the win until its bill.
  void reserve_unchecked(amount cost, unix_seconds now) noexcept;
  void count_win() noexcept { wins_.fetch_add(1, std::memory_order_relaxed); }
  void count_bill() noexcept { bills_.fetch_add(1, std::memory_order_relaxed); }
  void count_loss() noexcept { losses_.fetch_add(1, std::memory_order_relaxed); }
  void count_click() noexcept { clicks_.fetch_add(1, std::memory_order_relaxed); }

  // ---- fleet mode (docs/fleet.md) ----

  /// The part of the fleet-wide budget this process may commit: its lease, less what it
  /// charged since its last lease sync. A limited campaign reserves only while reserved() plus
  /// the new cost stays within it. no_fleet_limit outside fleet mode.
  amount fleet_room() const noexcept { return fleet_room_.load(std::memory_order_relaxed); }
  /// Adds `delta` (may be negative) to fleet_room(): the fleet thread after a lease sync, the
  /// notice path when a bid issued here is charged (its spend leaves the lease).
  void add_fleet_room(amount delta) noexcept {
    fleet_room_.fetch_add(delta, std::memory_order_acq_rel);
  }

  // ---- ticker (one thread) ----

  /// Expires reservations older than the TTL, prepares today's and tomorrow's day counters and
  /// (EVEN) adjusts the throttle once per elapsed second. Call at least once a second.
  void tick(const budget& b, unix_seconds now) noexcept;

  // ---- reads (metrics, tests) ----

  amount spent_day(unix_seconds now) const noexcept;
  amount spent_lifetime() const noexcept { return lifetime_.load(std::memory_order_relaxed); }
  amount reserved() const noexcept { return reserved_.load(std::memory_order_relaxed); }
  double pacing_rate() const noexcept;
  std::uint64_t wins() const noexcept { return wins_.load(std::memory_order_relaxed); }
  std::uint64_t bills() const noexcept { return bills_.load(std::memory_order_relaxed); }
  std::uint64_t losses() const noexcept { return losses_.load(std::memory_order_relaxed); }
  std::uint64_t clicks() const noexcept { return clicks_.load(std::memory_order_relaxed); }

  // ---- persistence ----

  struct saved {
    std::int64_t day = 0;  // the UTC day of spent_day
    amount spent_day = 0;
    amount spent_lifetime = 0;
    std::uint64_t wins = 0, bills = 0, losses = 0, clicks = 0;
    double pacing_rate = 1;
    std::vector<std::pair<unix_seconds, amount>> reservations;  // live buckets: second, amount
    bool operator==(const saved&) const = default;
  };
  /// A copy of the state at `now` (taken without stopping the other threads).
  saved save(unix_seconds now) const;
  /// Loads `state` into a fresh account before it is used: today's spend if `state` is from
  /// today, the lifetime spend and counters, and the reservations that have not expired.
  void restore(const saved& state, unix_seconds now) noexcept;

 private:
  std::atomic<amount>& bucket(unix_seconds second) noexcept {
    return buckets_[static_cast<std::size_t>(floor_mod(second))];
  }
  std::int64_t floor_mod(unix_seconds second) const noexcept {
    const std::int64_t m = second % ring_;
    return m < 0 ? m + ring_ : m;
  }
  void prepare_day(std::int64_t day) noexcept;
  void pace(const budget& b, unix_seconds now) noexcept;
  void set_rate(double rate) noexcept;

  static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::min() / 2;

  std::string id_;
  std::uint64_t id_hash_;
  unix_seconds ttl_;
  std::int64_t ring_;
  std::unique_ptr<std::atomic<amount>[]> buckets_;
  std::atomic<amount> reserved_{0};
  std::atomic<amount> fleet_room_;
  std::atomic<std::int64_t> retired_through_{never};  // seconds <= this are expired
  std::atomic<std::int64_t> last_tick_{never};
  struct day_counter {
    std::atomic<std::int64_t> day{never};
    std::atomic<amount> spent{0};
  };
  std::array<day_counter, 2> days_;  // today and yesterday/tomorrow, by day parity
  std::atomic<amount> lifetime_{0};
  std::atomic<std::uint64_t> wins_{0}, bills_{0}, losses_{0}, clicks_{0};
  std::atomic<std::uint32_t> pacing_threshold_{std::numeric_limits<std::uint32_t>::max()};
  // Pacing state: the ticker thread only.
  std::int64_t pacing_second_ = never;
  std::int64_t pacing_day_ = never;
  amount pacing_last_spent_ = 0;
  double demand_spend_ = 0;  // moving average of spend per second
  double demand_rate_ = 0;   // moving average of the throttle rate over the same seconds
  std::uint64_t pacing_samples_ = 0;
};

}  // namespace bidder::spend
