// File: bidder/spend/keeper.hpp
//
// The spend component's background thread: every `interval` it ticks the ledger (reservation
// expiry, day roll, pacing) and writes the state to the spend store in one RocksDB WriteBatch:
// each account whose state changed since its last write (whole), plus the bid states and
// frequency counts the notice path journaled since the last write. Bid and notice threads never
// wait for the disk. Idle campaigns cost nothing: with 1,000 campaigns, writing every account
// every tick took about a tenth of a core that the bid threads share.
//
// Durability: each write goes to RocksDB's write-ahead log without waiting for the disk (it is
// then in the OS cache, which survives a crash of the process); every `sync_every`-th write,
// and the last one at stop(), waits for it (survives a crash of the machine).
// docs/notices-and-spend.md "What a crash loses" gives the resulting bound.
//
//   spend::keeper keeper(ledger, store.get(), {});
//   keeper.start();            // after restore, before serving
//   ...
//   keeper.stop();             // after the servers stopped: final synced write
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/spend/ledger.hpp"
#include "bidder/spend/spend_store.hpp"

namespace bidder::spend {

struct keeper_options {
  /// Time between ticks and writes. Default 100 ms: the ticker must run at least once a
  /// second, and a crash of the process loses at most this much of accepted notices.
  std::chrono::milliseconds interval{100};
  /// Every this-many writes waits for the disk. Default 10 (once a second).
  unsigned sync_every = 10;
  std::function<unix_seconds()> clock = &wall_now;
};

class keeper {
 public:
  /// `store` may be null (state in memory only).
  keeper(ledger& ledger, spend_store* store, keeper_options options);
  ~keeper();
  keeper(const keeper&) = delete;
  keeper& operator=(const keeper&) = delete;

  /// Starts the thread (ticks once first, so budgets can be checked at once).
  void start();
  /// Stops the thread and writes a last time, synced. Idempotent; nothing when start() was
  /// never called (the caller drives run_once()).
  void stop();
  /// One round at `now`: tick, then write (synced when `sync`). Tests call it directly.
  /// Errors: io_error from the store (the state stays in memory and the next round retries
  /// the accounts; journaled records of a failed write are lost).
  [[nodiscard]] result<void> run_once(unix_seconds now, bool sync);

  std::uint64_t write_errors() const noexcept {
    return write_errors_.load(std::memory_order_relaxed);
  }
  std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  /// Account records written so far (changed accounts only).
  std::uint64_t accounts_written() const noexcept {
    return accounts_written_.load(std::memory_order_relaxed);
  }

 private:
  void run();

  ledger& ledger_;
  spend_store* store_;
  keeper_options options_;
  std::mutex mutex_;  // the keeper's own thread and stop() only
  std::condition_variable wake_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
  std::mutex round_mutex_;  // run_once from the thread and from stop()
  spend_batch batch_;
  // What the store holds for each account, from the last successful write (round_mutex_).
  std::unordered_map<const account*, account::saved> written_;
  std::vector<std::pair<const account*, account::saved>> pending_;
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> accounts_written_{0};
};

}  // namespace bidder::spend
