// File: bidder/audience/rocksdb_store_impl.hpp
//
// rocksdb_store's state, shared by its read path (rocksdb_store.cpp) and its update path
// (rocksdb_update.cpp): the database and its column families, the warmer thread that reads
// into memory what bids found missing, and the update lock. Internal to bidder/audience.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "bidder/audience/reach_sample.hpp"
#include "bidder/audience/rocksdb_plugins.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/audience/user_cache.hpp"
#include "bidder/core/background_thread.hpp"
#include "bidder/core/codec.hpp"
#include "bidder/core/names.hpp"

namespace bidder::audience {

namespace fs = std::filesystem;
// The store's format (rocksdb_plugins.hpp), named here once for both of its .cpp files.
using detail::add_operand;
using detail::decode_segment;
using detail::encode_segment;
using detail::event_operand;
using detail::expiry_filter;
using detail::has_segment;
using detail::io_error;
using detail::membership_merge;
using detail::remove_operand;
using detail::segments_family;

// Keys whose data was not in memory, handed from bid threads to the warmer thread. Lossy on
// purpose: a bid thread never waits; when its slot is busy the key is dropped (it will miss
// again and be offered again).
class warm_queue {
 public:
  static constexpr std::size_t slots = 1024;
  static constexpr std::size_t max_key_bytes = 640;  // longest user key (512-byte id + prefix)

  // Bid path: lock-free, allocation-free.
  void offer(std::string_view key) noexcept {
    if (key.size() > max_key_bytes) return;
    slot& s = slots_[cursor_.fetch_add(1, std::memory_order_relaxed) % slots];
    std::uint32_t expected = empty;
    if (!s.state.compare_exchange_strong(expected, writing, std::memory_order_acquire)) return;
    if (!key.empty()) std::memcpy(s.key, key.data(), key.size());
    s.size = key.size();
    s.state.store(ready, std::memory_order_release);
    pending_.fetch_add(1, std::memory_order_release);
  }

  // Warmer thread: calls fn(key) for every offered key; returns how many. Without an offer
  // since the last call it reads one counter, not the 1,024 slots (660 KB, which also pushed
  // the bid thread's data out of a shared core's caches).
  template <class Fn>
  std::size_t drain(Fn&& fn) {
    // A key offered after this exchange leaves the count above 0: the next call finds it.
    if (pending_.exchange(0, std::memory_order_acq_rel) == 0) return 0;
    std::size_t taken = 0;
    std::string key;
    for (std::size_t i = 0; i < slots; ++i) {
      slot& s = slots_[i];
      if (s.state.load(std::memory_order_acquire) != ready) continue;
      key.assign(s.key, s.size);
      s.state.store(empty, std::memory_order_release);
      fn(key);
      ++taken;
    }
    return taken;
  }

 private:
  enum : std::uint32_t { empty, writing, ready };
  struct slot {
    std::atomic<std::uint32_t> state{empty};
    std::size_t size = 0;
    char key[max_key_bytes];
  };
  std::unique_ptr<slot[]> slots_ = std::make_unique<slot[]>(slots);
  std::atomic<std::size_t> cursor_{0};
  std::atomic<std::size_t> pending_{0};  // offers since the last drain
};

// RocksDB 7.8 starts a new WAL at each open and keeps every WAL from the oldest one a column
// family has not flushed past. The users family only takes ingested files and never flushes, so
// each restart left one more empty `.log` in the store (fixed upstream by "Delete empty WAL files
// on reopen", facebook/rocksdb#11409, after 7.8). Called with the store open (its LOCK held, so
// no other process writes here): an empty WAL older than the current one holds nothing to
// recover. Best effort; returns how many were removed.
inline std::size_t remove_empty_old_wals(rocksdb::DB& db, const std::string& path) {
  std::unique_ptr<rocksdb::LogFile> current;
  if (!db.GetCurrentWalFile(&current).ok() || !current) return 0;
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".log")) continue;
    std::uint64_t number = 0;
    const char* digits_end = name.data() + name.size() - 4;
    const auto [end, parse_ec] = std::from_chars(name.data(), digits_end, number);
    if (parse_ec != std::errc() || end != digits_end) {
      continue;  // not a WAL's name
    }
    std::error_code size_ec;
    if (number >= current->LogNumber() || entry.file_size(size_ec) != 0 || size_ec) continue;
    if (fs::remove(entry.path(), size_ec)) ++removed;
  }
  return removed;
}

// Compactions write new files whose blocks are not cached; this tells the warmer. Flushes
// (browsing events' memtables) need not: their blocks are put in the cache as they are written
// (prepopulate_block_cache), and a rewarm after each would read the whole store every ~64 MB
// of events.
class rewarm_listener final : public rocksdb::EventListener {
 public:
  explicit rewarm_listener(std::atomic<bool>& flag) : flag_(flag) {}
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    flag_.store(true, std::memory_order_release);
  }

 private:
  std::atomic<bool>& flag_;
};

struct rocksdb_store::impl {
  std::string path;
  std::shared_ptr<rocksdb::MergeOperator> merge = std::make_shared<membership_merge>();
  std::unique_ptr<expiry_filter> filter;
  rocksdb::ColumnFamilyOptions users_options;
  rocksdb::ColumnFamilyOptions segments_options;
  rocksdb::DBOptions db_options;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* users = nullptr;
  rocksdb::ColumnFamilyHandle* segments = nullptr;
  std::mutex update_mutex;  // one segment update at a time
  // Segments known to have a record in the segments family (rocksdb_events.cpp); under
  // update_mutex.
  std::set<std::string, std::less<>> recorded_event_segments;
  warm_queue to_warm;
  std::atomic<bool> stopping{false};
  std::atomic<bool> rewarm{false};        // set when new files appeared (compaction, flush)
  std::atomic<bool> rewarm_rows{false};   // set when the row cache should be (re)filled
  std::atomic<bool> refill_users{false};  // set when the user cache was emptied
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<rocksdb::Cache> row_cache;  // null: none
  std::thread warmer;
  std::unique_ptr<reach_sample> sample;     // null: none (rocksdb_options::reach_sample_rate_log2)
  std::unique_ptr<user_cache> users_cache;  // null: none (rocksdb_options::user_cache_bytes)

  // After a write of this user has returned: its cached answers are dropped (user_cache.hpp:
  // the store first, then the cache).
  void invalidate_user(std::string_view key) noexcept {
    if (users_cache) users_cache->invalidate(key);
  }
  // After a write too large to list: everything is dropped and refilled in the background.
  void invalidate_all_users() noexcept {
    if (!users_cache) return;
    users_cache->invalidate_all();
    refill_users.store(true, std::memory_order_release);
  }

  // At open, one pass over the users: fills the block cache when `warm` and the store fits in
  // half of it (as warm_all_if_it_fits), and the reach sample (updates cannot run yet).
  bool open_scan(bool warm) {
    if (warm && row_cache) rewarm_rows.store(true, std::memory_order_release);
    const bool fill = warm && fits_in_cache();
    // The user cache takes users until it is as full as it usefully gets (three in four ways:
    // the rest stay free for users bids find missing).
    const std::size_t user_budget = users_cache && warm ? users_cache->capacity() / 4 * 3 : 0;
    std::size_t cached_users = 0;
    if (!fill && !sample && user_budget == 0) return true;
    rocksdb::ReadOptions read;
    read.fill_cache = fill;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, users));
    std::vector<membership_view> views;
    std::string scratch;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (cached_users < user_budget) {
        // No writer runs yet (open() has not returned), so the scan's values are current.
        const std::string_view value(it->value().data(), it->value().size());
        const user_cache::probe p = users_cache->find(key, scratch);
        cached_users += users_cache->fill(p, &value);
      }
      if (!sample) continue;
      if (!sample->holds(key)) continue;
      views.clear();
      if (decode_memberships(std::string_view(it->value().data(), it->value().size()), 0, views)) {
        sample->put(key, views);
      }
    }
    return it->status().ok();
  }

  // Re-reads sampled keys an update changed. A read error leaves that key's old data in the
  // sample: estimates drift by one key, the store is unaffected.
  void refresh_sample(const std::vector<std::string>& keys) {
    if (!sample) return;
    std::string value;
    std::vector<membership_view> views;
    for (const std::string& key : keys) {
      const rocksdb::Status got = db->Get(rocksdb::ReadOptions(), users, key, &value);
      views.clear();
      if (got.IsNotFound()) {
        sample->erase(key);
      } else if (got.ok() && decode_memberships(value, 0, views)) {
        sample->put(key, views);
      }
    }
  }

  // Reads, off the bid path, what bids found missing from memory, so the next bid finds it.
  void run_warmer() {
    while (!stopping.load(std::memory_order_acquire)) {
      if (rewarm.exchange(false, std::memory_order_acq_rel)) warm_all_if_it_fits();
      if (rewarm_rows.exchange(false, std::memory_order_acq_rel)) warm_rows(/*background=*/true);
      if (refill_users.exchange(false, std::memory_order_acq_rel)) refill_user_cache();
      // Idle, it naps: long enough that its wake-ups cost little to a bid thread sharing its
      // core (1 ms naps, each scanning every slot, woke it ~900 times a second for 20-35 us:
      // 1-3 % of the bid core, `perf sched` at 10,000 requests/s), and short against the time
      // between two visits of one user, whose data the nap only delays.
      if (warm_offered() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // The users' files fit in half of the block cache: the store is kept in memory whole.
  bool fits_in_cache() {
    std::uint64_t live_bytes = 0;
    db->GetIntProperty(users, "rocksdb.live-sst-files-size", &live_bytes);
    return live_bytes <= block_cache->GetCapacity() / 2;
  }

  // Reads `key` with fill_cache (from disk if need be), so that bids find it in memory. False
  // on a read error.
  bool warm_key(const std::string& key) {
    rocksdb::ReadOptions read;
    read.fill_cache = true;
    rocksdb::PinnableSlice value;
    const rocksdb::Status got = db->Get(read, users, key, &value);
    return got.ok() || got.IsNotFound();
  }

  bool warm_keys(const std::vector<std::string>& keys) {
    return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return warm_key(k); });
  }

  // Reads the keys bids found missing from memory (errors left to the bid's next miss).
  // Returns how many.
  std::size_t warm_offered() {
    return to_warm.drain([&](const std::string& key) { (void)warm_key(key); });
  }

  // Reads every user once (filling the cache) when the store fits in half of the cache. The
  // row cache (if any) is refilled after it either way, by the warmer thread.
  bool warm_all_if_it_fits() {
    if (row_cache) rewarm_rows.store(true, std::memory_order_release);
    if (!fits_in_cache()) return true;  // too big to hold; stay lazy
    rocksdb::ReadOptions read;
    read.fill_cache = true;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, users));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
    }
    return it->status().ok();
  }

  // Gets every user once, which fills the row cache (an iterator does not), until the rows
  // read would fill 90% of it (what does not fit would only churn). The budget counts the rows
  // of this pass (key + value + ~100 bytes of cache entry), not the cache's usage, which still
  // holds the rows of replaced files until they are evicted. In the background it gives way to
  // keys bids are waiting for, and starts over when the files changed again. Returns the users
  // read, or nullopt on a read error.
  std::optional<std::uint64_t> warm_rows(bool background) {
    if (!row_cache) return 0;
    constexpr std::size_t row_overhead_bytes = 100;  // measured: 151 bytes for a 30+20 B row
    const std::size_t budget = row_cache->GetCapacity() / 10 * 9;
    std::size_t spent = 0;
    rocksdb::ReadOptions scan;
    scan.fill_cache = false;  // the keys only; the Gets below fill the row cache
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(scan, users));
    rocksdb::ReadOptions read;
    read.fill_cache = false;  // blocks of a store that did not fit stay out of the block cache
    rocksdb::PinnableSlice value;
    std::uint64_t read_users = 0;
    for (it->SeekToFirst(); it->Valid() && spent < budget; it->Next()) {
      db->Get(read, users, it->key(), &value).PermitUncheckedError();
      spent += it->key().size() + value.size() + row_overhead_bytes;
      value.Reset();
      if (++read_users % 1024 != 0 || !background) continue;
      if (stopping.load(std::memory_order_acquire)) break;
      if (rewarm.load(std::memory_order_acquire)) {
        rewarm_rows.store(true, std::memory_order_release);  // after the block cache, again
        break;
      }
      warm_offered();
    }
    if (!it->status().ok()) return std::nullopt;
    return read_users;
  }

  // Refills the user cache after invalidate_all_users(), in the background: a fresh Get per
  // user after its probe, so a write racing the refill is never undone (user_cache.hpp). Stops
  // when the cache is three quarters full, or starts over when it was emptied again.
  void refill_user_cache() {
    if (!users_cache) return;
    const std::size_t budget = users_cache->capacity() / 4 * 3;
    rocksdb::ReadOptions scan;
    scan.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(scan, users));
    rocksdb::ReadOptions read;
    read.fill_cache = false;
    std::string value, scratch;
    std::size_t cached = 0, seen = 0;
    for (it->SeekToFirst(); it->Valid() && cached < budget; it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      const user_cache::probe p = users_cache->find(key, scratch);
      if (p.answer == user_cache::answer::miss) {
        const rocksdb::Status got = db->Get(read, users, it->key(), &value);
        if (got.ok()) {
          const std::string_view bytes(value);
          cached += users_cache->fill(p, &bytes);
        }
      }
      if (++seen % 1024 != 0) continue;
      if (stopping.load(std::memory_order_acquire)) return;
      if (refill_users.load(std::memory_order_acquire)) return;  // emptied again: start over
      warm_offered();
    }
  }

  ~impl() {
    stopping.store(true, std::memory_order_release);
    if (warmer.joinable()) warmer.join();
    if (db) {
      if (segments != nullptr) ignore(db->DestroyColumnFamilyHandle(segments));
      if (users != nullptr) ignore(db->DestroyColumnFamilyHandle(users));
      ignore(db->Close());
    }
  }
  static void ignore(const rocksdb::Status& s) { s.PermitUncheckedError(); }

  // A fresh temporary directory inside the store for the SST files of one update.
  fs::path staging_dir() const {
    std::random_device rd;
    return fs::path(path) / ("ingest-" + std::to_string(rd()) + std::to_string(rd()));
  }
};

}  // namespace bidder::audience
