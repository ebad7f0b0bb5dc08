// File: bidder/audience/rocksdb_store.hpp
//
// The RocksDB-backed audience store. This header keeps RocksDB out of its includers; the
// implementation is rocksdb_store.cpp (open, look-ups, listings), rocksdb_update.cpp (segment
// updates) and rocksdb_plugins.cpp (the merge operator, the expiry filter, the encodings), with
// the state they share in rocksdb_store_impl.hpp.
//
// Layout: the default column family maps a user key to all of that user's memberships (one
// point read per id on the bid path); a merge operator applies "add to segment S" and "remove
// from S" operands, so pushes write blindly without reading users. The "segments" column family
// keeps each segment's member count, TTL and last update.
//
// Reads on the bid path use kBlockCacheTier, so they never wait for the disk: data not cached
// answers `not_in_memory` (counted), and its key is handed (lock-free, lossy) to a warmer
// thread that reads it from disk so the user's next bid finds it. Filters and indexes stay in
// table readers (all tables open), and `open()` warms the whole cache when the store fits.
//
// A segment update is written as SST files and ingested with one IngestExternalFiles call, which
// RocksDB applies atomically (also across a crash): readers see the segment before or after an
// update, never half of it. Expired memberships are invisible to reads at once and dropped from
// disk by a compaction filter.
//
//   auto store = audience::rocksdb_store::open({.path = "data/audience"});
//   auto r = (*store)->update_segment("car-buyers", update_mode::replace, 30, sorted, now);
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bidder/audience/member_sorter.hpp"
#include "bidder/audience/segment_store.hpp"
#include "bidder/audience/user_cache.hpp"

namespace bidder::audience {

struct rocksdb_options {
  /// Directory of the database; created (with its parents) when missing.
  std::string path;
  /// LRU block cache, bytes. Default 256 MiB: a 10-million-user store is ~430 MB on disk.
  std::size_t block_cache_bytes = std::size_t{256} << 20;
  /// Data block size, bytes. 4 KiB measured best at 10M users (1 KiB: +20% look-up time).
  std::size_t block_size_bytes = 4096;
  /// Keys between restart points in a data block (RocksDB's default: 16). A look-up finds the
  /// restart point with the block's hash index, then scans forward key by key from it.
  int block_restart_interval = 16;
  /// Fill ratio of each data block's hash index (RocksDB's default: 0.75); lower means fewer
  /// collisions, which fall back to a binary search in the block.
  double data_block_hash_ratio = 0.75;
  /// HyperClockCache instead of LRU: lock-free cache hits. At 10M users it cut the look-up
  /// p99 from 4.7 to 3.7 us here (bench/micro/audience_bench.cpp, docs/audience.md).
  bool hyper_clock_cache = true;
  /// RocksDB's row cache (user key -> value, in front of the table files), bytes; 0: none.
  /// A hit skips the bloom filter, the index search and the data block: at 10M users the
  /// look-up p99 went from 4.7 to 2.7 us here (bench_audience --row_cache_mb). It costs about
  /// 150 bytes per user held; a cache too small for the users looked up churns and is slower
  /// than none. The warmer fills it in the background after open and after each change.
  std::size_t row_cache_bytes = 0;
  /// The user cache (user_cache.hpp) in front of RocksDB, bytes; 0: none; user_cache_auto:
  /// 128 bytes per user stored at open, from 64 MiB to 4 GiB. Each user held costs ~85 bytes
  /// (256-byte buckets of three); users whose stored value exceeds 64 bytes are not held, and
  /// users the store lacks are remembered too. At 10M users a look-up that hits it took 0.75
  /// us against 6.2 us through RocksDB (bench_audience --user_cache_mb). Filled at open (up to
  /// three quarters), then by bids' look-ups; writes invalidate what they change.
  std::size_t user_cache_bytes = user_cache_auto;
  /// Read the whole store once at open when it fits in the cache, so bids find it in memory.
  bool warm_cache_on_open = true;
  /// The hash sample for reach estimates (reach_sample.hpp): each key is in it with
  /// probability 1 / 2^reach_sample_rate_log2 (default 6: 1/64, 160,000 keys of 10 million,
  /// ~15 MB, a ~1 s scan at open). -1: no sample (estimates scan the whole store).
  int reach_sample_rate_log2 = 6;
  /// The sample's hash seed; 0: a random one at each open (a key cannot be chosen to land in
  /// the sample). Tests fix it.
  std::uint64_t reach_sample_seed = 0;
  /// The clock the expiry compaction filter uses (tests inject one).
  std::function<unix_seconds()> clock = &wall_now;
};

/// Runs the process's RocksDB flush and compaction threads (every store's: they share one pool)
/// at SCHED_IDLE, as ours do (core/background_thread.hpp). Call once before opening stores.
void run_rocksdb_threads_idle();

class rocksdb_store final : public segment_store {
 public:
  /// Errors: io_error (cannot create or open the database, with RocksDB's reason).
  [[nodiscard]] static result<std::unique_ptr<rocksdb_store>> open(const rocksdb_options& options);
  ~rocksdb_store() override;

  lookup_status lookup(std::string_view user_key, unix_seconds now,
                       std::vector<membership_view>& out) noexcept override;
  /// Loads the user cache's bucket of `user_key` into the CPU's caches (user_cache::prefetch).
  void prefetch(std::string_view user_key) const noexcept override;
  result<void> write_user(std::string_view user_key,
                          std::span<const membership> memberships) override;
  result<bool> is_empty() override;

  /// Applies one audience push atomically. `members` must be sorted by key with unique keys.
  /// `ttl_days` > 0 makes each membership expire that many days after its last-seen time (0:
  /// keep the segment's TTL, or never). Errors: invalid_field (bad segment name or unsorted
  /// members), not_found (remove from a segment that does not exist), io_error. On any error
  /// nothing is applied. Control plane; one update at a time (serialised inside).
  [[nodiscard]] result<update_result> update_segment(std::string_view segment, update_mode mode,
                                                     std::uint32_t ttl_days,
                                                     std::span<const member> members,
                                                     unix_seconds now) override;
  /// The same from a stream (member_sorter.hpp), so memory stays bounded for any file size.
  /// A stream out of order, or one that fails, applies nothing.
  [[nodiscard]] result<update_result> update_segment(std::string_view segment, update_mode mode,
                                                     std::uint32_t ttl_days, member_source& members,
                                                     unix_seconds now) override;

  /// Fleet flow: writes `members` (sorted, unique) as a self-contained SST file at `path`, for
  /// `update_segment_from_file` on any bidder. Static: needs no open store. Errors: io_error.
  [[nodiscard]] static result<std::uint64_t> write_members_file(member_source& members,
                                                                const std::string& path);
  /// Applies a file made by write_members_file, as update_segment would. Errors as there, and
  /// io_error / invalid_field for a missing or damaged file.
  [[nodiscard]] result<update_result> update_segment_from_file(
      std::string_view segment, update_mode mode, std::uint32_t ttl_days, const std::string& path,
      std::uint64_t members, unix_seconds now) override;

  /// Browsing events' memberships: merge operands in one WriteBatch (rocksdb_events.cpp).
  [[nodiscard]] result<void> add_event_memberships(std::span<const event_membership> memberships,
                                                   bool sync) override;
  /// The write-ahead log synced (DB::SyncWAL; rocksdb_events.cpp).
  [[nodiscard]] result<void> sync_wal() override;
  /// Every segment with its figures, sorted by name.
  [[nodiscard]] result<std::vector<segment_info>> segments() override;
  /// A user's memberships (reads the disk if needed; control plane), expired ones excluded.
  [[nodiscard]] result<std::vector<membership>> user_memberships(std::string_view user_key,
                                                                 unix_seconds now) override;
  /// Deletes the user from every segment at once. Returns whether the user existed. Reads stop
  /// seeing the user at once; the bytes leave the disk at the next compaction of their file
  /// (compact() forces one).
  [[nodiscard]] result<bool> forget_user(std::string_view user_key) override;
  /// Compacts everything: drops expired memberships and forgotten users from disk now.
  [[nodiscard]] result<void> compact() override;
  /// The database directory (pushes sort inside it, so their runs share its disk).
  const std::string& path() const noexcept override;
  /// Reads every block once so later look-ups hit the cache. Control plane; blocks.
  [[nodiscard]] result<void> warm_cache();
  /// Reads every user once so later look-ups hit the row cache, stopping once the rows read
  /// would fill 90% of it (what does not fit would only churn). Returns how many users were
  /// read. Control plane; takes about 4 us per user. The store runs it in the background by itself;
  /// this call is for benchmarks and tests that want it finished.
  [[nodiscard]] result<std::uint64_t> warm_row_cache();

  result<reach_estimate> estimate_reach(const expression::group& g, estimate_method method,
                                        unix_seconds now) override;

  cache_usage caches() const noexcept override;

  /// Tests and benchmarks: the user cache's entries now (a slow scan); zeros without one.
  struct user_cache_count {
    std::size_t present = 0, absent = 0;
  };
  user_cache_count count_user_cache() const noexcept;

  /// Tests: writes the users' memtable (browsing events) to a table file now.
  [[nodiscard]] result<void> flush_for_test();

 private:
  struct impl;
  explicit rocksdb_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace bidder::audience
