// File: bidder/audience/rocksdb_store.hpp
//
// The RocksDB-backed audience store; the only file that includes <rocksdb/...>. Options are
// tuned for point look-ups (bloom filters, a block cache, the data-block hash index); look-ups
// on the bid path read with kBlockCacheTier, so they never wait for the disk: data that is not
// cached yet answers `not_in_memory` and is counted. `open()` warms the cache when the store
// fits in it.
//
//   auto store = audience::rocksdb_store::open({.path = "data/audience"});
//   if (!store) fail(store.error().message);
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "bidder/audience/store.hpp"

namespace bidder::audience {

struct rocksdb_options {
  /// Directory of the database; created when missing.
  std::string path;
  /// LRU block cache, bytes. Default 256 MiB: a 10-million-user store is ~430 MB on disk.
  std::size_t block_cache_bytes = std::size_t{256} << 20;
  /// Read the whole store once at open when it fits in the cache, so bids find it in memory.
  bool warm_cache_on_open = true;
};

class rocksdb_store final : public store {
 public:
  /// Errors: io_error (cannot create or open the database, with RocksDB's reason).
  [[nodiscard]] static result<std::unique_ptr<rocksdb_store>> open(const rocksdb_options& options);
  ~rocksdb_store() override;

  lookup_status lookup(std::string_view user_key,
                       std::vector<membership_view>& out) noexcept override;
  result<void> write_user(std::string_view user_key,
                          std::span<const membership> memberships) override;
  result<bool> is_empty() override;

  /// Reads every block once so later look-ups hit the cache. Control plane; blocks.
  [[nodiscard]] result<void> warm_cache();

 private:
  struct impl;
  explicit rocksdb_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace bidder::audience
