// File: bidder/fleet/agent.hpp
//
// Fleet mode (docs/fleet.md): several bidder processes share each campaign's budget and the
// frequency caps through one Redis, the design of RTBkit's banker. Redis holds each campaign's
// spend and one lease per bidder; a bidder commits (reserves at bid time) only within its lease
// and the notice path settles every charge once fleet-wide. This agent is the one thread that
// talks to Redis; bid threads touch only the accounts' atomics (account::fleet_room()).
//
// Every sync interval the agent, in one pipeline:
//   1. settles the charges notices made since the last round: SET NX on the bid id (a win or
//      bill notice received by several bidders, or twice, is charged once), spend added to the
//      campaign's daily and lifetime totals, the amount taken from the issuing bidder's lease;
//      a charge its issuer's lease no longer covers (expired, or already given back) is a late
//      win, counted in Redis and in bidder_fleet_late_wins_total;
//   2. appends the impressions counted for frequency caps to a stream, and reads the others';
//   3. for each budget-limited campaign, runs the lease script: tops this bidder's lease up to
//      `slice` beyond what its live reservations hold, as far as the budget left after the other
//      leases allows (the last slices shrink to what is left), gives back a remainder too small
//      for one bid, and sets the lease to expire after `lease_ttl`.
// Then account::fleet_room = lease - charges made here not yet settled. A lease not renewed
// within lease_ttl (Redis unreachable) is dropped locally, so the bidder stops committing just
// before Redis lets the other bidders take it over.
//
//   fleet::agent agent(ledger, {.redis = *endpoint, .instance = "1f2e3d"});
//   ledger.set_fleet(&agent);
//   agent.start();   ...   agent.stop();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bidder/fleet/redis_client.hpp"
#include "bidder/spend/ledger.hpp"

namespace bidder::fleet {

struct agent_options {
  redis_endpoint redis;
  /// This process's id in the fleet: the prefix of the bid ids it issues ("<instance>-...").
  std::string instance;
  /// Free room (beyond live reservations) a lease is topped up to, per campaign. Default 1.00
  /// currency unit (--fleet-slice).
  spend::amount slice = spend::amount_from_units(1.0);
  /// Time between syncs (--fleet-sync-ms).
  std::chrono::milliseconds sync_interval{100};
  /// A lease not renewed for this long expires in Redis (--fleet-lease-ttl-ms).
  std::chrono::milliseconds lease_ttl{3'000};
  /// Bound of each Redis call (connect, each pipeline).
  std::chrono::milliseconds timeout{200};
  /// How long a settled bid id is remembered: the notice max age.
  unix_seconds settle_ttl = 3600;
  /// Prefix of every Redis key.
  std::string key_prefix = "bidder:";
  /// Most charges or impressions waiting for Redis; beyond it they are dropped and counted.
  std::size_t max_pending = std::size_t{1} << 20;
};

class agent final : public spend::fleet_link {
 public:
  agent(spend::ledger& ledger, agent_options options);
  ~agent() override;
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;

  void start();
  /// Stops the thread after one last round (settling what the notices left).
  void stop();
  /// One round on the caller's thread (tests; never while the thread runs).
  void sync_once_for_test();

  // ---- spend::fleet_link (notice threads) ----
  bool issued_here(std::string_view bid_id) const noexcept override;
  void on_charge(spend::account& payer, std::string_view bid_id, unix_seconds issued,
                 spend::amount cost, spend::amount bid_cost, unix_seconds now) override;
  void on_impressions(std::string_view bid_id, unix_seconds issued,
                      std::span<const std::uint64_t> keys, unix_seconds now) override;

  /// Empty when ready (Redis answered within the lease TTL and every limited campaign holds a
  /// fresh lease), else the reason, for GET /readyz.
  std::string not_ready_reason() const;
  /// Prometheus text: bidder_fleet_*.
  void write_metrics(std::string& out) const;

 private:
  struct charge {
    spend::account* payer;
    std::string bid_id;
    spend::amount cost, bid_cost;
    unix_seconds issued, at;
    bool here;
  };
  struct impression {
    std::string bid_id;
    unix_seconds issued;
    std::string keys;  // the frequency-cap keys, comma-separated
    unix_seconds at;
  };
  struct lease_state {
    spend::amount applied = 0;  // the lease value added to fleet_room
    std::chrono::steady_clock::time_point fresh_until{};
    spend::amount largest_bid = 0;  // the largest bid cost seen: a useful remainder's size
  };
  void run();
  void round(bool full);
  void release_settled_elsewhere(std::string_view entry, unix_seconds now);
  void drop_stale_leases(std::chrono::steady_clock::time_point now);
  std::string campaign_key(const spend::account& a) const;

  spend::ledger& ledger_;
  agent_options options_;
  redis_client redis_;
  std::string bid_prefix_;  // instance + '-'

  std::mutex pending_mutex_;  // notice threads append, the round swaps
  std::vector<charge> charges_;
  std::vector<impression> impressions_;
  std::atomic<bool> charges_waiting_{false};
  bool failing_ = false;  // the last round failed (fleet thread only)
  // Charges issued here settled by a round without a lease read: returned to the room with the
  // next lease (fleet thread only).
  std::unordered_map<spend::account*, spend::amount> settled_unapplied_;
  std::string inbox_from_ = "0-0";  // the last inbox stream id read (fleet thread only)

  mutable std::mutex state_mutex_;  // the round writes, metrics and readiness read
  std::unordered_map<spend::account*, lease_state> leases_;
  std::string stream_from_;  // the last frequency stream id read
  std::chrono::steady_clock::time_point redis_ok_until_{};
  std::string last_error_;

  std::atomic<std::uint64_t> syncs_{0}, sync_errors_{0}, settles_{0}, replays_{0}, late_wins_{0},
      dropped_{0}, released_elsewhere_{0}, impressions_sent_{0}, impressions_received_{0};

  std::mutex run_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bidder::fleet
