// File: bidder/spend/ledger.hpp
//
// All shared spend state of one bidder process: an account per campaign (account.hpp), the
// table of notified bids (bid_table.hpp), the frequency-cap table (frequency_table.hpp), and
// the journal of changes waiting to be written to disk (spend_store.hpp, by the keeper).
// Created once at start-up and kept across config reloads: a campaign's account is found by
// its id, so a reload (or a campaign leaving and coming back) keeps its spend.
//
// Thread-safety: open()/find()/set_budgets()/accounts() take a mutex (control plane, and the
// notice path's look-up of a campaign no longer in the config); everything the bid path uses
// is lock-free. tick() belongs to one ticker thread.
//
//   spend::ledger ledger({.reservation_ttl = 60, .notice_max_age = 3600});
//   spend::account& a = ledger.open("summer-sale");       // stable address
//   ledger.set_budgets({{&a, budget}});                    // what the ticker paces by
//   ledger.tick(now);                                      // ticker thread, >= once a second
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bidder/spend/account.hpp"
#include "bidder/spend/bid_table.hpp"
#include "bidder/spend/frequency_table.hpp"

namespace bidder::spend {

struct ledger_options {
  /// Seconds a bid's reservation lasts without a notice (config reservation_ttl_seconds).
  unix_seconds reservation_ttl = 60;
  /// Seconds after which a notice is refused (config notice_max_age_seconds).
  unix_seconds notice_max_age = 3600;
  /// Slots of the notified-bids table (config notice_table_slots).
  std::size_t notice_table_slots = std::size_t{1} << 20;
  /// Slots of the frequency-cap table (config frequency_table_slots).
  std::size_t frequency_table_slots = std::size_t{1} << 20;
  /// Most journal records waiting for the disk; beyond it new ones are dropped and counted
  /// (the state in memory is right; a crash before the next write would lose them).
  std::size_t max_journal_records = std::size_t{1} << 20;
  /// Fleet mode (docs/fleet.md): accounts start with no fleet room, so limited campaigns bid
  /// only within the leases the fleet thread takes.
  bool fleet = false;
};

/// What the notice path tells the fleet (docs/fleet.md; implemented by fleet::agent). Called on
/// notice threads; must not block on I/O.
class fleet_link {
 public:
  virtual ~fleet_link() = default;
  /// True when bid `bid_id` was issued by this process (its reservation is here).
  virtual bool issued_here(std::string_view bid_id) const noexcept = 0;
  /// A notice charged `cost` to `payer` for bid `bid_id` (issued at `issued`, whose price
  /// reserved `bid_cost`), at `now`: to be settled once fleet-wide.
  virtual void on_charge(account& payer, std::string_view bid_id, unix_seconds issued, amount cost,
                         amount bid_cost, unix_seconds now) = 0;
  /// The win of bid `bid_id` (issued at `issued`) counted an impression at `now` for each of
  /// the frequency-cap `keys`: to be shared with the fleet.
  virtual void on_impressions(std::string_view bid_id, unix_seconds issued,
                              std::span<const std::uint64_t> keys, unix_seconds now) = 0;
};

/// Changes the keeper writes to disk (notice path -> keeper thread). The accounts are saved
/// whole at each write; these are the per-bid and per-user changes since the last one.
class journal {
 public:
  struct bid_record {
    std::uint64_t key = 0;
    std::uint64_t state = 0;
  };
  explicit journal(std::size_t max_records) : max_records_(max_records) {}
  void add(const bid_record& r);
  void add(const frequency_table::entry& e);
  /// Moves everything recorded so far into the arguments (cleared first).
  void take(std::vector<bid_record>& bids, std::vector<frequency_table::entry>& frequency);
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  std::size_t max_records_;
  std::mutex mutex_;  // notice path and keeper only; held for a push_back or a swap
  std::vector<bid_record> bids_;
  std::vector<frequency_table::entry> frequency_;
  std::atomic<std::uint64_t> dropped_{0};
};

class ledger {
 public:
  explicit ledger(const ledger_options& options);
  ledger(const ledger&) = delete;
  ledger& operator=(const ledger&) = delete;

  const ledger_options& options() const noexcept { return options_; }

  /// The account of `campaign_id`, created on first use. The reference stays valid for the
  /// ledger's life.
  account& open(std::string_view campaign_id);
  /// The account of `campaign_id`, or null when there is none.
  account* find(std::string_view campaign_id);
  /// Every account, in creation order.
  std::vector<account*> accounts();
  /// The budgets set by set_budgets(), in creation order of their accounts.
  std::vector<std::pair<account*, budget>> budgets();
  /// The budgets tick() paces by (the current config's); accounts not listed get none.
  void set_budgets(const std::vector<std::pair<account*, budget>>& budgets);

  /// Ticks every account (account::tick). Ticker thread.
  void tick(unix_seconds now);

  bid_table& bids() noexcept { return bids_; }
  frequency_table& frequency() noexcept { return frequency_; }
  const frequency_table& frequency() const noexcept { return frequency_; }
  journal& changes() noexcept { return journal_; }
  /// Fleet mode: where notices report charges and impressions (null: one process). Set once
  /// before serving.
  fleet_link* fleet() const noexcept { return fleet_; }
  void set_fleet(fleet_link* link) noexcept { fleet_ = link; }

 private:
  ledger_options options_;
  std::mutex mutex_;
  std::deque<account> accounts_;  // a deque never moves its elements
  std::unordered_map<std::string, account*> by_id_;
  std::unordered_map<account*, budget> budgets_;
  bid_table bids_;
  frequency_table frequency_;
  journal journal_;
  fleet_link* fleet_ = nullptr;
};

}  // namespace bidder::spend
