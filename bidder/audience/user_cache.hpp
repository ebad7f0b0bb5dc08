// File: bidder/audience/user_cache.hpp
//
// A lock-free cache of users' stored values in front of RocksDB, for the bid path (issue 19). At
// 10 million users a RocksDB point read that hits costs a bloom probe, a binary search of an
// index block and a data block search: ~4 us of cache misses, and 11 % of the server's CPU per
// full auction in bench/run-all. Here a look-up is one hash, one 64-byte header line and, for a
// user with data, one more line: the value. It also remembers users the store does not have
// ("absent"), so a user seen again skips RocksDB's miss path as well.
//
// Layout: a fixed array of 256-byte buckets. A bucket is a header line (a version, three key
// tags, three lengths) and three 64-byte value lines; a key may live only in its own bucket.
// The version is a seqlock: even when the bucket is stable, odd while a writer changes it. All
// shared words are std::atomic (relaxed loads and stores, ordered by the version), so readers
// never wait and never lock.
//
// Correctness rests on one rule: **the store writes first, then invalidates** the written keys'
// buckets (bumping their versions). A reader that misses takes the bucket's version as a token
// before reading RocksDB, and its fill succeeds only if the version is still that token, so a
// value read before a write can never be cached after the write's invalidation. Fills from bid
// threads are a single compare-and-swap attempt: they give up rather than wait.
//
// Keys are identified by two independent 64-bit hashes under a random per-process seed (the
// bucket from one, the stored tag from the other) plus the key's length: a false match needs
// both to collide, about 2^-64 per look-up. Values longer than 64 bytes (more than about four
// segments with short names) are not cached; their look-ups take the RocksDB path.
//
//   user_cache cache(256 << 20);
//   std::string value;
//   user_cache::probe p = cache.find(key, value);
//   if (p.answer == user_cache::answer::miss) { /* read the store */ cache.fill(key, p, bytes); }
//   store.write(key, ...); cache.invalidate(key);
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bidder::audience {

/// rocksdb_options::user_cache_bytes: sized from the store at open.
inline constexpr std::size_t user_cache_auto = ~std::size_t{0};

class user_cache {
 public:
  static constexpr std::size_t bucket_bytes = 256;
  static constexpr std::size_t ways = 3;
  static constexpr std::size_t max_value_bytes = 64;
  static constexpr std::size_t max_key_bytes = 0xffff;

  /// A cache using about `bytes` of memory (rounded down to whole buckets; at least one). The
  /// memory is reserved at once and touched as it fills. `seed` 0: a random one.
  explicit user_cache(std::size_t bytes, std::uint64_t seed = 0);
  ~user_cache();
  user_cache(const user_cache&) = delete;
  user_cache& operator=(const user_cache&) = delete;

  enum class answer : std::uint8_t {
    found,   // the value was copied out
    absent,  // the store did not have the user when it was cached
    miss,    // not cached, or the bucket was being written: read the store
  };
  struct key_hash {
    std::uint64_t bucket = 0, tag = 0;
    std::uint32_t length = 0;
  };
  struct probe {
    user_cache::answer answer = user_cache::answer::miss;
    key_hash hash;
    /// For a miss: the bucket's version and the cache's epoch before the store is read, for
    /// fill(); an odd version: no fill.
    std::uint64_t token = 1;
    std::uint32_t epoch = 0;
  };

  key_hash hash(std::string_view key) const noexcept;

  /// Bid path: wait-free. On `found`, `value` holds the cached bytes (its capacity is reused).
  probe find(std::string_view key, std::string& value) const noexcept;

  /// Bid path: starts loading `key`'s bucket into the CPU's caches without waiting for it, so
  /// that a find() after other work does not stall on memory. Changes nothing.
  void prefetch(std::string_view key) const noexcept;

  /// Caches what the store answered after `p` missed: `value` (stored bytes) or, with
  /// `value == nullptr`, that the user is absent. One attempt; false when the bucket changed
  /// since the probe (a write may have made the answer stale), the value is too long, or an
  /// absent answer would have to evict a present one.
  bool fill(const probe& p, const std::string_view* value) noexcept;

  /// After a write of `key` to the store: forgets every entry in the key's bucket. Waits for a
  /// bid thread's fill of the same bucket to finish (tens of nanoseconds). Control plane.
  void invalidate(std::string_view key) noexcept;
  void invalidate(const key_hash& h) noexcept;
  /// Forgets everything (after a write too large to list its keys): O(1), one epoch bump; the
  /// entries of older epochs read as empty.
  void invalidate_all() noexcept;

  std::size_t bucket_count() const noexcept { return bucket_count_; }
  std::size_t capacity() const noexcept { return bucket_count_ * ways; }
  std::size_t memory_bytes() const noexcept { return bucket_count_ * bucket_bytes; }
  /// Entries held now (present and absent), by a scan of every header: slow (a cache miss per
  /// bucket), for tests and benchmarks.
  struct usage {
    std::size_t present = 0, absent = 0;
  };
  usage count() const noexcept;

 private:
  struct bucket;
  bucket& bucket_of(const key_hash& h) const noexcept;
  void lock_for_writer(bucket& b, std::uint64_t& version) noexcept;

  std::size_t bucket_count_ = 0;
  std::uint64_t seed_ = 0;
  std::atomic<std::uint32_t> epoch_{0};
  bucket* buckets_ = nullptr;  // mmap'd: untouched pages cost nothing until they are filled
};

}  // namespace bidder::audience
