// File: bidder/spend/spend_store.hpp
//
// The spend state on disk: a RocksDB database of its own (by default <data-dir>/spend) with one
// column family per kind of state. The only file of spend/ that includes <rocksdb/...>;
// RocksDB's Status is translated here and never leaves.
//
//   "campaigns"     campaign id -> spend today (and its day), lifetime spend, notice counters,
//                   pacing rate (account::saved)
//   "reservations"  campaign id -> the live reservation buckets (second, amount)
//   "bids"          bid key (8 bytes, big-endian) -> bid state (bid_table.hpp)
//   "frequency"     frequency key (8 bytes) -> packed hour/day/week counts
//
// Bid states past the notice max age and frequency entries of past weeks are dropped by a
// compaction filter, so the database stays about as large as the tables in memory.
//
//   auto store = spend::spend_store::open({.path = "data/spend", .notice_max_age = 3600});
//   (*store)->write(batch, /*sync=*/false);
//   auto state = (*store)->load(now);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/spend/account.hpp"
#include "bidder/spend/frequency_table.hpp"
#include "bidder/spend/ledger.hpp"

namespace bidder::spend {

struct spend_store_options {
  /// Database directory; created with its parents when missing.
  std::string path;
  /// Bid states older than this (plus a minute) are dropped at compaction.
  unix_seconds notice_max_age = 3600;
  /// The clock of the compaction filter (tests inject one).
  std::function<unix_seconds()> clock = &wall_now;
};

/// One write: everything in it is applied atomically (one RocksDB WriteBatch).
struct spend_batch {
  std::vector<std::pair<std::string, account::saved>> campaigns;
  std::vector<journal::bid_record> bids;
  std::vector<frequency_table::entry> frequency;
};

/// Everything load() read back.
struct spend_snapshot {
  std::vector<std::pair<std::string, account::saved>> campaigns;
  std::vector<journal::bid_record> bids;
  std::vector<frequency_table::entry> frequency;
};

class spend_store {
 public:
  /// Errors: io_error with RocksDB's reason (cannot create or open the database).
  [[nodiscard]] static result<std::unique_ptr<spend_store>> open(
      const spend_store_options& options);
  ~spend_store();

  /// Writes `batch` atomically. `sync`: wait until the write-ahead log is on disk (otherwise it
  /// is in the OS cache, which survives a crash of the process but not of the machine).
  /// Errors: io_error. Thread-safe.
  [[nodiscard]] result<void> write(const spend_batch& batch, bool sync);
  /// Reads everything back (start-up). Records that do not decode are skipped. Errors: io_error.
  [[nodiscard]] result<spend_snapshot> load();

 private:
  struct impl;
  explicit spend_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

/// Loads a snapshot into a fresh ledger: accounts (opened by id), bid states and frequency
/// counts that are still current at `now`.
void restore(ledger& into, const spend_snapshot& state, unix_seconds now);

}  // namespace bidder::spend
