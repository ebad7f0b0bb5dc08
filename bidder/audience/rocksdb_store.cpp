#include "bidder/audience/rocksdb_store.hpp"

#include <new>

#include "bidder/audience/rocksdb_store_impl.hpp"
#include "bidder/expression/program.hpp"

namespace bidder::audience {
namespace {

// The value bytes of the last look-up on this thread: membership views point into them. A copy
// (values are tens of bytes), not a pinned block: a pinned cache block outliving its store
// would be released into freed memory when the thread next looks up or exits.
thread_local std::string tls_value;

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
  // Browsing events reach the table files through flushes of the memtable; their blocks go into
  // the cache as they are written, so a flush never makes an event's user "not in memory" for
  // the bid path's cache-only look-up (and needs no rewarm).
  table.prepopulate_block_cache =
      rocksdb::BlockBasedTableOptions::PrepopulateBlockCache::kFlushOnly;

  state->filter = std::make_unique<expiry_filter>(options.clock);
  rocksdb::ColumnFamilyOptions& users = state->users_options;
  users.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  users.compression = rocksdb::kNoCompression;  // values are tiny; decompression costs CPU
  users.merge_operator = state->merge;
  users.compaction_filter = state->filter.get();
  // Browsing events write into the memtable (docs/audience-events.md). A bloom filter over its
  // keys lets the bid path's look-up of a user no event named skip the memtable's skiplist
  // search (a chain of cache misses): measured with bench_audience_events.
  users.memtable_whole_key_filtering = true;
  users.memtable_prefix_bloom_size_ratio = 0.02;

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
  std::size_t user_cache_bytes = options.user_cache_bytes;
  if (user_cache_bytes == user_cache_auto) {
    std::uint64_t keys = 0;
    state->db->GetIntProperty(state->users, "rocksdb.estimate-num-keys", &keys);
    user_cache_bytes = static_cast<std::size_t>(
        std::clamp<std::uint64_t>(keys * 128, std::uint64_t{64} << 20, std::uint64_t{4} << 30));
  }
  if (user_cache_bytes > 0) {
    try {
      state->users_cache = std::make_unique<user_cache>(user_cache_bytes);
    } catch (const std::bad_alloc&) {
      return make_error(errc::io_error,
                        "cannot reserve " + std::to_string(user_cache_bytes >> 20) +
                            " MiB for the audience user cache (--audience-user-cache-mb)");
    }
  }
  if (options.reach_sample_rate_log2 >= 0) {
    std::uint64_t seed = options.reach_sample_seed;
    if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    state->sample =
        std::make_unique<reach_sample>(static_cast<unsigned>(options.reach_sample_rate_log2), seed);
  }
  state->warmer = std::thread([raw_state = state.get()] {
    yield_to_bid_threads(background_priority::idle);  // reads only: no lock bids wait on
    raw_state->run_warmer();
  });
  std::unique_ptr<rocksdb_store> store(new rocksdb_store(std::move(state)));
  // One pass over the users warms the cache (when asked and the store fits) and fills the
  // reach sample: two passes would cost a 10M-key store seconds more at every start.
  if (!store->impl_->open_scan(options.warm_cache_on_open)) {
    return make_error(errc::io_error, "cannot read the audience store at " + options.path);
  }
  return store;
}

void rocksdb_store::prefetch(std::string_view user_key) const noexcept {
  if (const user_cache* cache = impl_->users_cache.get()) cache->prefetch(user_key);
}

lookup_status rocksdb_store::lookup(std::string_view user_key, unix_seconds now,
                                    std::vector<membership_view>& out) noexcept {
  std::string& copy = tls_value;
  user_cache* cache = impl_->users_cache.get();
  user_cache::probe probe;
  if (cache != nullptr) {
    probe = cache->find(user_key, copy);
    if (probe.answer == user_cache::answer::found) {
      return decode_memberships(copy, now, out) ? lookup_status::found : lookup_status::failed;
    }
    if (probe.answer == user_cache::answer::absent) return lookup_status::not_found;
  }
  rocksdb::ReadOptions read;
  read.read_tier = rocksdb::kBlockCacheTier;  // never block a bid thread on the disk
  rocksdb::PinnableSlice value;
  const rocksdb::Status status =
      impl_->db->Get(read, impl_->users, rocksdb::Slice(user_key.data(), user_key.size()), &value);
  if (status.IsNotFound()) {
    if (cache != nullptr) cache->fill(probe, nullptr);
    return lookup_status::not_found;
  }
  if (status.IsIncomplete()) {
    impl_->to_warm.offer(user_key);  // the warmer reads it from disk for the next bid
    return lookup_status::not_in_memory;
  }
  if (!status.ok()) return lookup_status::failed;
  copy.assign(value.data(), value.size());
  value.Reset();
  if (cache != nullptr) {
    const std::string_view bytes(copy);
    cache->fill(probe, &bytes);
  }
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
  impl_->invalidate_user(user_key);
  if (impl_->sample && impl_->sample->holds(user_key)) {
    std::vector<membership_view> views;
    if (decode_memberships(value, 0, views)) impl_->sample->put(user_key, views);
  }
  return {};
}

result<bool> rocksdb_store::is_empty() {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->users));
  it->SeekToFirst();
  if (!it->status().ok()) return io_error("cannot read audience store", it->status());
  return !it->Valid();
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
  impl_->invalidate_user(user_key);
  if (impl_->sample) impl_->sample->erase(user_key);
  return existed;
}

result<void> rocksdb_store::compact() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  const rocksdb::Status s = impl_->db->CompactRange(options, impl_->users, nullptr, nullptr);
  if (!s.ok()) return io_error("cannot compact", s);
  // Bids at the current time see no difference, but a user the filter dropped whole is now
  // "not found" where the user cache still holds the user's (expired) memberships.
  impl_->invalidate_all_users();
  return warm_cache();  // the compacted files are new: their blocks are not cached yet
}

const std::string& rocksdb_store::path() const noexcept { return impl_->path; }

result<reach_estimate> rocksdb_store::estimate_reach(const expression::group& g,
                                                     estimate_method method, unix_seconds now) {
  if (auto r = expression::check(g); !r) return make_error(errc::invalid_field, r.error().message);
  reach_sample* sample = impl_->sample.get();
  if (method == estimate_method::sample && sample == nullptr) {
    return make_error(errc::unsupported,
                      "this store keeps no reach sample; ask for an exact count");
  }
  reach_estimate out;
  if (sample != nullptr && method != estimate_method::exact) {
    out.scale = sample->scale();
    out.sampled_keys = sample->keys();
    if (method == estimate_method::sample || out.sampled_keys * out.scale > exact_scan_max_keys) {
      out.sampled_matched = sample->count(g, now);
      out.matched = out.sampled_matched * out.scale;
      const reach_bounds bounds = reach_interval(out.sampled_matched, out.scale);
      out.low = bounds.low;
      out.high = bounds.high;
      out.stored_keys = out.sampled_keys * out.scale;
      out.exact = out.scale == 1;
      return out;
    }
  }
  // Exact: every stored key, its memberships mapped to the expression's own segment ids.
  segment_dictionary names;
  auto program = expression::compile(g, [&](std::string_view name) { return names.intern(name); });
  if (!program) return make_error(errc::invalid_field, program.error().message);
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // a full pass must not evict what bids need
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->users));
  std::vector<membership_view> views;
  std::vector<segment_membership> live;
  out = {};
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    views.clear();
    if (!decode_memberships(std::string_view(it->value().data(), it->value().size()), now, views)) {
      continue;  // a corrupt value: the bid path treats the user as unknown too
    }
    // A key whose memberships all expired or were removed is no one's reach.
    if (views.empty()) continue;
    live.clear();
    for (const membership_view& v : views) {
      if (auto id = names.find(v.segment)) live.push_back({*id, v.last_seen});
    }
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
      return a.segment != b.segment ? a.segment < b.segment : a.last_seen > b.last_seen;
    });
    live.erase(std::unique(live.begin(), live.end(),
                           [](const auto& a, const auto& b) { return a.segment == b.segment; }),
               live.end());
    ++out.stored_keys;
    if (expression::matches(*program, live, now)) ++out.matched;
  }
  if (!it->status().ok()) return io_error("cannot read the audience store", it->status());
  out.low = out.high = out.matched;
  out.exact = true;
  return out;
}

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
  if (impl_->users_cache) {
    usage.user_cache_bytes = impl_->users_cache->memory_bytes();
    usage.user_cache_capacity = impl_->users_cache->capacity();
  }
  return usage;
}

rocksdb_store::user_cache_count rocksdb_store::count_user_cache() const noexcept {
  if (!impl_->users_cache) return {};
  const user_cache::usage u = impl_->users_cache->count();
  return {u.present, u.absent};
}

}  // namespace bidder::audience
