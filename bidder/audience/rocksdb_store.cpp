#include "bidder/audience/rocksdb_store.hpp"

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
#include <string>
#include <thread>

#include "bidder/core/background_thread.hpp"
#include "bidder/core/codec.hpp"
#include "bidder/core/names.hpp"

namespace bidder::audience {
namespace {

namespace fs = std::filesystem;
constexpr const char* segments_family = "segments";

// The value bytes of the last look-up on this thread: membership views point into them. A copy
// (values are tens of bytes), not a pinned block: a pinned cache block outliving its store
// would be released into freed memory when the thread next looks up or exits.
thread_local std::string tls_value;

error io_error(std::string_view what, const rocksdb::Status& status) {
  return make_error(errc::io_error, std::string(what) + ": " + status.ToString());
}

// Merge operands: 'A' + membership (add or refresh), 'R' + varint length + segment (remove).
std::string add_operand(std::string_view segment, unix_seconds last_seen, unix_seconds expires_at) {
  std::string out = "A";
  std::string body;
  const membership_view m{segment, last_seen, expires_at};
  encode_memberships(std::span<const membership_view>(&m, 1), body);
  return out + body;
}

std::string remove_operand(std::string_view segment) {
  std::string out = "R";
  put_varint(out, segment.size());
  out += segment;
  return out;
}

// Applies operands to a user's memberships, in order; the last word on a segment wins.
class membership_merge final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<membership_view> entries;
    if (in.existing_value != nullptr &&
        !decode_memberships(std::string_view(in.existing_value->data(), in.existing_value->size()),
                            0, entries)) {
      entries.clear();  // a corrupt old value is replaced rather than kept forever
    }
    for (const rocksdb::Slice& operand : in.operand_list) {
      std::string_view op(operand.data(), operand.size());
      if (op.empty()) continue;
      const char kind = op.front();
      op.remove_prefix(1);
      std::vector<membership_view> parsed;
      std::string_view segment;
      if (kind == 'A') {
        if (!decode_memberships(op, 0, parsed) || parsed.size() != 1) continue;
        segment = parsed.front().segment;
      } else if (kind == 'R') {
        std::uint64_t length = 0;
        if (!get_varint(op, length) || length != op.size()) continue;
        segment = op;
      } else {
        continue;
      }
      entries.erase(std::remove_if(entries.begin(), entries.end(),
                                   [&](const membership_view& m) { return m.segment == segment; }),
                    entries.end());
      if (kind == 'A') entries.push_back(parsed.front());
    }
    encode_memberships(std::span<const membership_view>(entries), out->new_value);
    return true;
  }
  const char* Name() const override { return "bidder.audience.memberships.v1"; }
};

// Drops expired memberships (and users left with none) while RocksDB compacts.
class expiry_filter final : public rocksdb::CompactionFilter {
 public:
  explicit expiry_filter(std::function<unix_seconds()> clock) : clock_(std::move(clock)) {}

  Decision FilterV2(int, const rocksdb::Slice&, ValueType type, const rocksdb::Slice& value,
                    std::string* new_value, std::string*) const override {
    const unix_seconds now = clock_();
    if (type == ValueType::kMergeOperand) {
      std::string_view op(value.data(), value.size());
      if (op.empty() || op.front() != 'A') return Decision::kKeep;
      std::vector<membership_view> parsed;
      if (decode_memberships(op.substr(1), 0, parsed) && parsed.size() == 1 &&
          parsed.front().expires_at != 0 && parsed.front().expires_at <= now) {
        return Decision::kRemove;
      }
      return Decision::kKeep;
    }
    if (type != ValueType::kValue) return Decision::kKeep;
    std::vector<membership_view> all, live;
    const std::string_view bytes(value.data(), value.size());
    if (!decode_memberships(bytes, 0, all) || !decode_memberships(bytes, now, live)) {
      return Decision::kKeep;
    }
    if (live.empty()) return Decision::kRemove;  // expired, or left every segment
    if (live.size() == all.size()) return Decision::kKeep;
    encode_memberships(std::span<const membership_view>(live), *new_value);
    return Decision::kChangeValue;
  }
  const char* Name() const override { return "bidder.audience.expiry"; }

 private:
  std::function<unix_seconds()> clock_;
};

std::string encode_segment(const segment_info& info) {
  std::string out;
  put_varint(out, info.members);
  put_varint(out, info.exact ? 1 : 0);
  put_varint(out, static_cast<std::uint64_t>(std::max<unix_seconds>(info.updated_at, 0)));
  put_varint(out, info.ttl_days);
  return out;
}

bool decode_segment(std::string_view bytes, segment_info& info) {
  std::uint64_t members = 0, exact = 0, updated = 0, ttl = 0;
  if (!get_varint(bytes, members) || !get_varint(bytes, exact) || !get_varint(bytes, updated) ||
      !get_varint(bytes, ttl) || !bytes.empty()) {
    return false;
  }
  info.members = members;
  info.exact = exact != 0;
  info.updated_at = static_cast<unix_seconds>(updated);
  info.ttl_days = static_cast<std::uint32_t>(ttl);
  return true;
}

bool has_segment(std::string_view value, std::string_view segment) {
  std::vector<membership_view> entries;
  if (!decode_memberships(value, 0, entries)) return false;
  return std::any_of(entries.begin(), entries.end(),
                     [&](const membership_view& m) { return m.segment == segment; });
}

}  // namespace

std::string_view to_string(update_mode mode) noexcept {
  switch (mode) {
    case update_mode::replace:
      return "replace";
    case update_mode::add:
      return "add";
    case update_mode::remove:
      return "remove";
  }
  return "replace";
}

std::optional<update_mode> parse_update_mode(std::string_view text) noexcept {
  if (text == "replace") return update_mode::replace;
  if (text == "add") return update_mode::add;
  if (text == "remove") return update_mode::remove;
  return std::nullopt;
}

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
    std::memcpy(s.key, key.data(), key.size());
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
std::size_t remove_empty_old_wals(rocksdb::DB& db, const std::string& path) {
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

// Compactions and flushes write new files whose blocks are not cached; this tells the warmer.
class rewarm_listener final : public rocksdb::EventListener {
 public:
  explicit rewarm_listener(std::atomic<bool>& flag) : flag_(flag) {}
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    flag_.store(true, std::memory_order_release);
  }
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
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
  warm_queue to_warm;
  std::atomic<bool> stopping{false};
  std::atomic<bool> rewarm{false};       // set when new files appeared (compaction, flush)
  std::atomic<bool> rewarm_rows{false};  // set when the row cache should be (re)filled
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<rocksdb::Cache> row_cache;  // null: none
  std::thread warmer;

  // Reads, off the bid path, what bids found missing from memory, so the next bid finds it.
  void run_warmer() {
    while (!stopping.load(std::memory_order_acquire)) {
      if (rewarm.exchange(false, std::memory_order_acq_rel)) warm_all_if_it_fits();
      if (rewarm_rows.exchange(false, std::memory_order_acq_rel)) warm_rows(/*background=*/true);
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

rocksdb_store::rocksdb_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
rocksdb_store::~rocksdb_store() = default;

result<std::unique_ptr<rocksdb_store>> rocksdb_store::open(const rocksdb_options& options) {
  auto state = std::make_unique<impl>();
  state->path = options.path;
  std::error_code fs_error;
  fs::create_directories(options.path, fs_error);
  if (fs_error) {
    return make_error(errc::io_error, "cannot create audience store directory " + options.path +
                                          ": " + fs_error.message());
  }
  // Staging and sort folders of updates interrupted by a crash were never applied: drop them.
  for (const auto& entry : fs::directory_iterator(options.path, fs_error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && (name.starts_with("ingest-") || name.starts_with("bidder-sort-"))) {
      fs::remove_all(entry.path(), fs_error);
    }
  }

  rocksdb::BlockBasedTableOptions table;
  table.block_cache =
      options.hyper_clock_cache
          ? rocksdb::HyperClockCacheOptions(options.block_cache_bytes, options.block_size_bytes)
                .MakeSharedCache()
          : rocksdb::NewLRUCache(options.block_cache_bytes);
  state->block_cache = table.block_cache;
  // Point look-ups only: a bloom filter answers most misses without touching a data block,
  // and the data-block hash index avoids a binary search inside the block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  // Index and filter blocks live in the table readers (all tables stay open), not in the
  // cache: a kBlockCacheTier read must never find its filter evicted.
  table.cache_index_and_filter_blocks = false;
  table.block_size = options.block_size_bytes;
  table.block_restart_interval = options.block_restart_interval;
  table.data_block_hash_table_util_ratio = options.data_block_hash_ratio;

  state->filter = std::make_unique<expiry_filter>(options.clock);
  rocksdb::ColumnFamilyOptions& users = state->users_options;
  users.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  users.compression = rocksdb::kNoCompression;  // values are tiny; decompression costs CPU
  users.merge_operator = state->merge;
  users.compaction_filter = state->filter.get();

  rocksdb::DBOptions& db_options = state->db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  db_options.max_open_files = -1;
  if (options.row_cache_bytes > 0) {
    // HyperClockCache takes fixed 16-byte keys only, so the row cache is an LRU cache. Its
    // default sharding (up to 64 shards of at least 512 KiB) keeps each shard's mutex, held
    // for a hash probe, uncontended with a few bid threads.
    state->row_cache = rocksdb::NewLRUCache(options.row_cache_bytes);
    db_options.row_cache = state->row_cache;
  }
  db_options.listeners.push_back(std::make_shared<rewarm_listener>(state->rewarm));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, users}, {segments_family, state->segments_options}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!status.ok()) return io_error("cannot open audience store at " + options.path, status);
  state->db.reset(raw);
  state->users = handles[0];
  state->segments = handles[1];
  remove_empty_old_wals(*state->db, options.path);
  state->warmer = std::thread([raw_state = state.get()] {
    yield_to_bid_threads(background_priority::idle);  // reads only: no lock bids wait on
    raw_state->run_warmer();
  });
  std::unique_ptr<rocksdb_store> store(new rocksdb_store(std::move(state)));
  if (options.warm_cache_on_open) {
    if (auto r = store->warm_cache(); !r) return r.error();
  }
  return store;
}

lookup_status rocksdb_store::lookup(std::string_view user_key, unix_seconds now,
                                    std::vector<membership_view>& out) noexcept {
  rocksdb::ReadOptions read;
  read.read_tier = rocksdb::kBlockCacheTier;  // never block a bid thread on the disk
  rocksdb::PinnableSlice value;
  const rocksdb::Status status =
      impl_->db->Get(read, impl_->users, rocksdb::Slice(user_key.data(), user_key.size()), &value);
  if (status.IsNotFound()) return lookup_status::not_found;
  if (status.IsIncomplete()) {
    impl_->to_warm.offer(user_key);  // the warmer reads it from disk for the next bid
    return lookup_status::not_in_memory;
  }
  if (!status.ok()) return lookup_status::failed;
  std::string& copy = tls_value;
  copy.assign(value.data(), value.size());
  value.Reset();
  if (!decode_memberships(copy, now, out)) return lookup_status::failed;
  return lookup_status::found;
}

result<void> rocksdb_store::write_user(std::string_view user_key,
                                       std::span<const membership> memberships) {
  std::string value;
  encode_memberships(memberships, value);
  const rocksdb::Status status =
      impl_->db->Put(rocksdb::WriteOptions(), impl_->users,
                     rocksdb::Slice(user_key.data(), user_key.size()), value);
  if (!status.ok()) return io_error("cannot write user", status);
  return {};
}

result<bool> rocksdb_store::is_empty() {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->users));
  it->SeekToFirst();
  if (!it->status().ok()) return io_error("cannot read audience store", it->status());
  return !it->Valid();
}

result<update_result> rocksdb_store::update_segment(std::string_view segment, update_mode mode,
                                                    std::uint32_t ttl_days,
                                                    std::span<const member> members,
                                                    unix_seconds now) {
  for (std::size_t i = 1; i < members.size(); ++i) {
    if (!(members[i - 1].key < members[i].key)) {
      return make_error(errc::invalid_field, "members are not sorted by key with unique keys");
    }
  }
  auto source = source_of(std::vector<member>(members.begin(), members.end()));
  return update_segment(segment, mode, ttl_days, *source, now);
}

result<update_result> rocksdb_store::update_segment(std::string_view segment, update_mode mode,
                                                    std::uint32_t ttl_days, member_source& members,
                                                    unix_seconds now) {
  if (!is_url_safe_name(segment)) {
    return make_error(errc::invalid_field, "segment name \"" + std::string(segment) +
                                               "\": use 1 to 128 of A-Z a-z 0-9 - _ . ~");
  }
  std::lock_guard lock(impl_->update_mutex);
  rocksdb::DB& db = *impl_->db;

  segment_info info;
  info.name = std::string(segment);
  bool known = false;
  {
    std::string bytes;
    const rocksdb::Status s = db.Get(rocksdb::ReadOptions(), impl_->segments,
                                     rocksdb::Slice(segment.data(), segment.size()), &bytes);
    if (s.ok()) {
      known = decode_segment(bytes, info);
    } else if (!s.IsNotFound()) {
      return io_error("cannot read segment " + info.name, s);
    }
  }
  if (mode == update_mode::remove && !known) {
    return make_error(errc::not_found, "segment \"" + info.name + "\" does not exist");
  }
  if (ttl_days > 0) info.ttl_days = ttl_days;
  const unix_seconds ttl_seconds = static_cast<unix_seconds>(info.ttl_days) * 86400;

  const fs::path staging = impl_->staging_dir();
  std::error_code fs_error;
  fs::create_directories(staging, fs_error);
  if (fs_error) return make_error(errc::io_error, "cannot create " + staging.string());
  struct cleanup {
    fs::path dir;
    ~cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove_staging{staging};

  // 1. The users' operands, in key order, in one SST file.
  update_result result;
  const std::string users_file = (staging / "users.sst").string();
  rocksdb::SstFileWriter users_writer(rocksdb::EnvOptions(),
                                      rocksdb::Options(impl_->db_options, impl_->users_options),
                                      impl_->users);
  rocksdb::Status s = users_writer.Open(users_file);
  if (!s.ok()) return io_error("cannot stage update", s);
  std::uint64_t entries = 0;
  std::uint64_t stored_keys = 0;
  db.GetIntProperty(impl_->users, "rocksdb.estimate-num-keys", &stored_keys);
  // The users this update writes, to warm their data alone afterwards when they are few against
  // the store (a full warm reads every user: seconds at 10 million, for a 1,000-line push).
  const std::uint64_t max_touched = std::min<std::uint64_t>(stored_keys / 16, 262'144);
  std::vector<std::string> touched;
  bool too_many_touched = false;
  auto touch = [&](std::string_view key) {
    if (too_many_touched) return;
    if (touched.size() == max_touched) {
      too_many_touched = true;
      std::vector<std::string>().swap(touched);
      return;
    }
    touched.emplace_back(key);
  };
  auto add = [&](const member& m) -> rocksdb::Status {
    ++entries;
    ++result.written;  // added, or refreshed
    touch(m.key);
    const unix_seconds expires = ttl_seconds > 0 ? m.last_seen + ttl_seconds : 0;
    return users_writer.Merge(m.key, add_operand(segment, m.last_seen, expires));
  };
  auto remove = [&](std::string_view key) -> rocksdb::Status {
    ++entries;
    touch(key);
    return users_writer.Merge(rocksdb::Slice(key.data(), key.size()), remove_operand(segment));
  };
  // Which of the file's members are already in the segment decides what to write and keeps the
  // member count exact (so re-pushing a file changes nothing, counts included). A replace, or a
  // file that is large against the store, merge-joins with a scan of all users; a small file
  // on a large store looks its members up one by one.
  const bool scan = mode == update_mode::replace || members.size() * 64 >= stored_keys;
  std::uint64_t joined = 0, left = 0;  // members new to the segment; members that left it
  auto visit = [&](const member& m, bool was_member) -> rocksdb::Status {
    switch (mode) {
      case update_mode::replace:
      case update_mode::add:
        if (!was_member) ++joined;
        return add(m);
      case update_mode::remove:
        if (!was_member) return rocksdb::Status::OK();  // not in the segment: nothing to do
        ++left;
        ++result.written;
        return remove(m.key);
    }
    return rocksdb::Status::OK();
  };
  // The stream, one member ahead, checked to be sorted and unique as it goes.
  member current, previous;
  bool have = members.next(current);
  bool out_of_order = false;
  auto advance = [&] {
    std::swap(previous, current);  // keeps both strings' buffers: no allocation per member
    have = members.next(current);
    if (have && !(previous.key < current.key)) out_of_order = true;
  };
  if (scan) {
    rocksdb::ReadOptions read;
    read.fill_cache = false;  // a full pass must not evict what bids need
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read, impl_->users));
    it->SeekToFirst();
    while (s.ok() && !out_of_order && (it->Valid() || have)) {
      const bool stored_only =
          it->Valid() && (!have || it->key().compare(rocksdb::Slice(current.key)) < 0);
      const bool in_segment =
          it->Valid() &&
          has_segment(std::string_view(it->value().data(), it->value().size()), segment);
      if (stored_only) {
        if (mode == update_mode::replace && in_segment) {  // not in the new file: it leaves
          s = remove(std::string_view(it->key().data(), it->key().size()));
          ++result.dropped;
        }
        it->Next();
        continue;
      }
      const bool same_key = it->Valid() && it->key() == rocksdb::Slice(current.key);
      s = visit(current, same_key && in_segment);
      if (same_key) it->Next();
      advance();
    }
    if (s.ok() && !it->status().ok()) s = it->status();
  } else {
    rocksdb::ReadOptions read;
    read.fill_cache = false;
    std::string value;
    while (s.ok() && !out_of_order && have) {
      const rocksdb::Status got = db.Get(read, impl_->users, current.key, &value);
      if (!got.ok() && !got.IsNotFound()) {
        s = got;
        break;
      }
      s = visit(current, got.ok() && has_segment(value, segment));
      advance();
    }
  }
  if (out_of_order) {
    return make_error(errc::invalid_field, "members are not sorted by key with unique keys");
  }
  if (const error* failed = members.failure()) return *failed;
  switch (mode) {
    case update_mode::replace:
      info.members = result.written;
      break;
    case update_mode::add:
      info.members += joined;
      break;
    case update_mode::remove:
      info.members -= std::min<std::uint64_t>(info.members, left);
      break;
  }
  info.exact = true;
  if (!s.ok()) return io_error("cannot stage update", s);
  info.updated_at = now;
  result.members = info.members;

  std::vector<rocksdb::IngestExternalFileArg> ingest;
  if (entries > 0) {
    s = users_writer.Finish();
    if (!s.ok()) return io_error("cannot stage update", s);
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = impl_->users;
    arg.external_files = {users_file};
    arg.options.move_files = true;
    ingest.push_back(arg);
  }
  // 2. The segment's figures, ingested in the same atomic call.
  const std::string segment_file = (staging / "segment.sst").string();
  rocksdb::SstFileWriter segment_writer(
      rocksdb::EnvOptions(), rocksdb::Options(impl_->db_options, impl_->segments_options),
      impl_->segments);
  s = segment_writer.Open(segment_file);
  if (s.ok()) s = segment_writer.Put(info.name, encode_segment(info));
  if (s.ok()) s = segment_writer.Finish();
  if (!s.ok()) return io_error("cannot stage update", s);
  rocksdb::IngestExternalFileArg segment_arg;
  segment_arg.column_family = impl_->segments;
  segment_arg.external_files = {segment_file};
  segment_arg.options.move_files = true;
  ingest.push_back(segment_arg);

  s = db.IngestExternalFiles(ingest);
  if (!s.ok()) return io_error("cannot apply update", s);
  // Ingested files are not in the block cache, and bids never read the disk. When the store is
  // kept in memory (it fits in the cache), a few users written: a Get of each caches their
  // blocks, the new file's and the older files' under it. Many: the whole store is warmed
  // again. (Compactions the ingest triggers later, and a memtable it had to flush first, are
  // warmed by the warmer thread, moments after.) A store too big for the cache stays lazy: each
  // user is warmed after its first miss, off the bid path.
  if (too_many_touched) {
    if (auto warmed = warm_cache(); !warmed) return warmed.error();
  } else if (impl_->fits_in_cache() && !impl_->warm_keys(touched)) {
    return make_error(errc::io_error, "cannot warm the audience store's cache");
  }
  return result;
}

result<std::uint64_t> rocksdb_store::write_members_file(member_source& members,
                                                        const std::string& path) {
  rocksdb::Options options;
  options.compression = rocksdb::kNoCompression;
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options);
  rocksdb::Status s = writer.Open(path);
  if (!s.ok()) return io_error("cannot create " + path, s);
  member m;
  std::uint64_t count = 0;
  std::string value;
  while (members.next(m)) {
    value.clear();
    put_varint(value, static_cast<std::uint64_t>(std::max<unix_seconds>(m.last_seen, 0)));
    s = writer.Put(m.key, value);  // also refuses keys out of order
    if (!s.ok()) return io_error("cannot write " + path, s);
    ++count;
  }
  if (const error* failed = members.failure()) return *failed;
  if (count == 0) return make_error(errc::invalid_field, "no members to write");
  s = writer.Finish();
  if (!s.ok()) return io_error("cannot write " + path, s);
  return count;
}

namespace {
// Streams the members of a file made by write_members_file.
class sst_member_source final : public member_source {
 public:
  sst_member_source(std::unique_ptr<rocksdb::Iterator> it, std::uint64_t size)
      : it_(std::move(it)), size_(size) {
    it_->SeekToFirst();
  }
  std::uint64_t size() const noexcept override { return size_; }
  bool next(member& out) override {
    if (!it_->Valid()) {
      if (!it_->status().ok()) failure_ = make_error(errc::io_error, it_->status().ToString());
      return false;
    }
    std::string_view value(it_->value().data(), it_->value().size());
    std::uint64_t seen = 0;
    if (!get_varint(value, seen)) {
      failure_ = make_error(errc::invalid_field, "members file: bad value");
      return false;
    }
    out.key.assign(it_->key().data(), it_->key().size());
    out.last_seen = static_cast<unix_seconds>(seen);
    it_->Next();
    return true;
  }
  const error* failure() const noexcept override { return failure_ ? &*failure_ : nullptr; }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
  std::uint64_t size_;
  std::optional<error> failure_;
};
}  // namespace

result<update_result> rocksdb_store::update_segment_from_file(
    std::string_view segment, update_mode mode, std::uint32_t ttl_days, const std::string& path,
    std::uint64_t members, unix_seconds now) {
  rocksdb::Options options;
  rocksdb::SstFileReader reader(options);
  rocksdb::Status s = reader.Open(path);
  if (!s.ok()) return io_error("cannot open members file " + path, s);
  s = reader.VerifyChecksum();
  if (!s.ok()) return io_error("members file " + path + " is damaged", s);
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  sst_member_source source(std::unique_ptr<rocksdb::Iterator>(reader.NewIterator(read)), members);
  return update_segment(segment, mode, ttl_days, source, now);
}

result<std::vector<segment_info>> rocksdb_store::segments() {
  std::vector<segment_info> out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->segments));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    segment_info info;
    info.name = it->key().ToString();
    if (decode_segment(std::string_view(it->value().data(), it->value().size()), info)) {
      out.push_back(std::move(info));
    }
  }
  if (!it->status().ok()) return io_error("cannot list segments", it->status());
  return out;
}

result<std::vector<membership>> rocksdb_store::user_memberships(std::string_view user_key,
                                                                unix_seconds now) {
  std::string value;
  const rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->users,
                     rocksdb::Slice(user_key.data(), user_key.size()), &value);
  std::vector<membership> out;
  if (s.IsNotFound()) return out;
  if (!s.ok()) return io_error("cannot read user", s);
  std::vector<membership_view> views;
  if (!decode_memberships(value, now, views)) {
    return make_error(errc::io_error, "stored value of " + std::string(user_key) + " is corrupt");
  }
  for (const membership_view& v : views) {
    out.push_back({std::string(v.segment), v.last_seen, v.expires_at});
  }
  return out;
}

result<bool> rocksdb_store::forget_user(std::string_view user_key) {
  std::lock_guard lock(impl_->update_mutex);  // segment counts change: one writer at a time
  std::string value;
  const rocksdb::Slice key(user_key.data(), user_key.size());
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->users, key, &value);
  if (!s.ok() && !s.IsNotFound()) return io_error("cannot read user", s);
  const bool existed = s.ok();
  // The deletion and the segments' new counts go in one batch: both or neither.
  rocksdb::WriteBatch batch;
  std::vector<membership_view> memberships;
  if (existed && decode_memberships(value, 0, memberships)) {
    for (const membership_view& m : memberships) {
      std::string bytes;
      const rocksdb::Slice name(m.segment.data(), m.segment.size());
      segment_info info;
      if (impl_->db->Get(rocksdb::ReadOptions(), impl_->segments, name, &bytes).ok() &&
          decode_segment(bytes, info) && info.members > 0) {
        --info.members;
        s = batch.Put(impl_->segments, name, encode_segment(info));
        if (!s.ok()) return io_error("cannot forget user", s);
      }
    }
  }
  s = batch.Delete(impl_->users, key);
  if (!s.ok()) return io_error("cannot forget user", s);
  rocksdb::WriteOptions write;
  write.sync = true;  // a deletion request must survive a crash once acknowledged
  s = impl_->db->Write(write, &batch);
  if (!s.ok()) return io_error("cannot forget user", s);
  return existed;
}

result<void> rocksdb_store::compact() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  const rocksdb::Status s = impl_->db->CompactRange(options, impl_->users, nullptr, nullptr);
  if (!s.ok()) return io_error("cannot compact", s);
  return warm_cache();  // the compacted files are new: their blocks are not cached yet
}

const std::string& rocksdb_store::path() const noexcept { return impl_->path; }

result<void> rocksdb_store::warm_cache() {
  if (!impl_->warm_all_if_it_fits()) {
    return make_error(errc::io_error, "cannot warm the audience store's cache");
  }
  return {};
}

result<std::uint64_t> rocksdb_store::warm_row_cache() {
  const auto users = impl_->warm_rows(/*background=*/false);
  if (!users) return make_error(errc::io_error, "cannot warm the audience store's row cache");
  return *users;
}

void run_rocksdb_threads_idle() {
  // They hold the DB mutex a bid thread's Get takes once after each new version of the store,
  // a priority-inversion risk docs/audience.md weighs; measured with bench/push-under-load, the
  // bid p99 rise during a 10M-line push is 0.79 ms at SCHED_IDLE against 1.38 ms at nice 19
  // (medians of three).
  rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW,
                                                      rocksdb::CpuPriority::kIdle);
  rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH,
                                                      rocksdb::CpuPriority::kIdle);
}

rocksdb_store::cache_usage rocksdb_store::caches() const noexcept {
  cache_usage usage;
  usage.block_cache_bytes = impl_->block_cache->GetUsage();
  usage.block_cache_capacity = impl_->block_cache->GetCapacity();
  if (impl_->row_cache) {
    usage.row_cache_bytes = impl_->row_cache->GetUsage();
    usage.row_cache_capacity = impl_->row_cache->GetCapacity();
  }
  return usage;
}

}  // namespace bidder::audience
