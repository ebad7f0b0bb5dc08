#include "bidder/audience/rocksdb_store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>

#include <filesystem>
#include <string>

namespace bidder::audience {

struct rocksdb_store::impl {
  std::unique_ptr<rocksdb::DB> db;
  std::size_t block_cache_bytes = 0;
};

namespace {

// The value bytes of the last look-up on this thread: membership views point into them. A copy
// (values are tens of bytes), not a pinned block: a pinned cache block outliving its store
// would be released into freed memory when the thread next looks up or exits.
thread_local std::string tls_value;

error io_error(std::string_view what, const rocksdb::Status& status) {
  return make_error(errc::io_error, std::string(what) + ": " + status.ToString());
}

}  // namespace

rocksdb_store::rocksdb_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
rocksdb_store::~rocksdb_store() = default;

result<std::unique_ptr<rocksdb_store>> rocksdb_store::open(const rocksdb_options& options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Point look-ups only: a bloom filter answers most misses without touching a data block,
  // and the data-block hash index avoids a binary search inside the block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  // Index and filter blocks live in the table readers (all tables stay open), not in the
  // cache: a kBlockCacheTier read must never find its filter evicted.
  table.cache_index_and_filter_blocks = false;
  table.block_size = 4096;

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db_options.compression = rocksdb::kNoCompression;  // values are tiny; decompression costs CPU
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  db_options.max_open_files = -1;

  std::error_code fs_error;
  std::filesystem::create_directories(options.path, fs_error);
  if (fs_error) {
    return make_error(errc::io_error, "cannot create audience store directory " + options.path +
                                          ": " + fs_error.message());
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, options.path, &raw);
  if (!status.ok()) return io_error("cannot open audience store at " + options.path, status);
  auto state = std::make_unique<impl>();
  state->db.reset(raw);
  state->block_cache_bytes = options.block_cache_bytes;
  std::unique_ptr<rocksdb_store> store(new rocksdb_store(std::move(state)));
  if (options.warm_cache_on_open) {
    if (auto r = store->warm_cache(); !r) return r.error();
  }
  return store;
}

lookup_status rocksdb_store::lookup(std::string_view user_key,
                                    std::vector<membership_view>& out) noexcept {
  rocksdb::ReadOptions read;
  read.read_tier = rocksdb::kBlockCacheTier;  // never block a bid thread on the disk
  rocksdb::PinnableSlice value;
  const rocksdb::Status status =
      impl_->db->Get(read, impl_->db->DefaultColumnFamily(),
                     rocksdb::Slice(user_key.data(), user_key.size()), &value);
  if (status.IsNotFound()) return lookup_status::not_found;
  if (status.IsIncomplete()) return lookup_status::not_in_memory;
  if (!status.ok()) return lookup_status::failed;
  std::string& copy = tls_value;
  copy.assign(value.data(), value.size());
  value.Reset();
  if (!decode_memberships(copy, out)) return lookup_status::failed;
  return lookup_status::found;
}

result<void> rocksdb_store::write_user(std::string_view user_key,
                                       std::span<const membership> memberships) {
  std::string value;
  encode_memberships(memberships, value);
  rocksdb::WriteOptions write;
  const rocksdb::Status status =
      impl_->db->Put(write, rocksdb::Slice(user_key.data(), user_key.size()), value);
  if (!status.ok()) return io_error("cannot write user", status);
  return {};
}

result<bool> rocksdb_store::is_empty() {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  if (!it->status().ok()) return io_error("cannot read audience store", it->status());
  return !it->Valid();
}

result<void> rocksdb_store::warm_cache() {
  std::uint64_t live_bytes = 0;
  impl_->db->GetIntProperty("rocksdb.live-sst-files-size", &live_bytes);
  if (live_bytes > impl_->block_cache_bytes / 2) return {};  // too big to hold; stay lazy
  rocksdb::ReadOptions read;
  read.fill_cache = true;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
  }
  if (!it->status().ok()) return io_error("cannot warm audience store", it->status());
  return {};
}

}  // namespace bidder::audience
