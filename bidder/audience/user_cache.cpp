// The seqlock protocol follows Boehm, "Can seqlocks get along with programming language memory
// models?" (MSPC 2012): writers make the version odd, fence, store the data relaxed and publish
// the next even version with release; readers load the version with acquire, the data relaxed,
// fence with acquire and compare the version again.
#include "bidder/audience/user_cache.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <random>
#include <thread>

#include "bidder/core/hash.hpp"

namespace bidder::audience {

namespace {

// meta word of a way: epoch (32 bits) | key length (16) | value length (8) | state (8).
enum : std::uint64_t { state_empty = 0, state_present = 1, state_absent = 2 };

constexpr std::uint64_t make_meta(std::uint32_t epoch, std::uint32_t key_length,
                                  std::size_t value_length, std::uint64_t state) noexcept {
  return (std::uint64_t{epoch} << 32) | (std::uint64_t{key_length & 0xffffu} << 16) |
         (static_cast<std::uint64_t>(value_length) << 8) | state;
}
constexpr std::uint32_t meta_epoch(std::uint64_t m) noexcept {
  return static_cast<std::uint32_t>(m >> 32);
}
constexpr std::uint32_t meta_key_length(std::uint64_t m) noexcept {
  return static_cast<std::uint32_t>((m >> 16) & 0xffffu);
}
constexpr std::size_t meta_value_length(std::uint64_t m) noexcept { return (m >> 8) & 0xffu; }
constexpr std::uint64_t meta_state(std::uint64_t m) noexcept { return m & 0xffu; }

constexpr std::uint64_t rotl(std::uint64_t x, int r) noexcept { return (x << r) | (x >> (64 - r)); }

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

struct alignas(64) user_cache::bucket {
  std::atomic<std::uint64_t> version;
  std::atomic<std::uint64_t> tags[ways];  // 0: empty
  std::atomic<std::uint64_t> metas[ways];
  std::uint64_t spare;
  std::atomic<std::uint64_t> values[ways][max_value_bytes / 8];
};

user_cache::user_cache(std::size_t bytes, std::uint64_t seed)
    : bucket_count_(std::max<std::size_t>(bytes / bucket_bytes, 1)),
      seed_(seed != 0 ? seed
                      : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {
  static_assert(sizeof(bucket) == bucket_bytes);
  const std::size_t size = bucket_count_ * bucket_bytes;
  // Anonymous memory reads as zeros: every bucket starts empty at version 0, and pages no key
  // hashes to are never committed. Huge pages, where the kernel allows them, save the TLB miss
  // that a random bucket in gigabytes otherwise costs.
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  (void)madvise(memory, size, MADV_HUGEPAGE);
#endif
  buckets_ = static_cast<bucket*>(memory);
}

user_cache::~user_cache() { munmap(buckets_, bucket_count_ * bucket_bytes); }

user_cache::key_hash user_cache::hash(std::string_view key) const noexcept {
  // Two 64-bit lanes over 8-byte words, each with its own multiplier and rotation, under the
  // process's random seed: one picks the bucket, the other is the stored tag.
  const std::uint64_t n = key.size();
  std::uint64_t a = seed_ ^ (n * 0x9e3779b97f4a7c15ULL);
  std::uint64_t b = mix64(seed_ + 0x632be59bd9b4e019ULL) ^ (n * 0xc2b2ae3d27d4eb4fULL);
  const char* p = key.data();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    a = rotl(a ^ w, 27) * 0x9e3779b97f4a7c15ULL;
    b = rotl(b ^ w, 31) * 0xc2b2ae3d27d4eb4fULL + 0x165667b19e3779f9ULL;
  }
  if (i < n) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, n - i);
    a = rotl(a ^ w, 27) * 0x9e3779b97f4a7c15ULL;
    b = rotl(b ^ w, 31) * 0xc2b2ae3d27d4eb4fULL + 0x165667b19e3779f9ULL;
  }
  key_hash h;
  h.bucket =
      static_cast<std::uint64_t>((static_cast<unsigned __int128>(mix64(a)) * bucket_count_) >> 64);
  h.tag = mix64(b ^ 0x27d4eb2f165667c5ULL);
  if (h.tag == 0) h.tag = 1;  // 0 marks an empty way
  h.length = static_cast<std::uint32_t>(std::min<std::size_t>(n, max_key_bytes));
  return h;
}

user_cache::bucket& user_cache::bucket_of(const key_hash& h) const noexcept {
  return buckets_[h.bucket];
}

void user_cache::prefetch(std::string_view key) const noexcept {
  // The header line and the three value lines: which way holds the key is not known yet.
  const char* lines = reinterpret_cast<const char*>(&bucket_of(hash(key)));
  for (std::size_t offset = 0; offset < bucket_bytes; offset += 64) {
    __builtin_prefetch(lines + offset, /*rw=*/0, /*locality=*/3);
  }
}

user_cache::probe user_cache::find(std::string_view key, std::string& value) const noexcept {
  probe p;
  p.hash = hash(key);
  bucket& b = bucket_of(p.hash);
  p.epoch = epoch_.load(std::memory_order_seq_cst);
  const std::uint64_t before = b.version.load(std::memory_order_acquire);
  if (before & 1) return p;  // being written: read the store, do not fill
  int way = -1;
  std::uint64_t meta = 0;
  for (std::size_t i = 0; i < ways; ++i) {
    if (b.tags[i].load(std::memory_order_relaxed) != p.hash.tag) continue;
    meta = b.metas[i].load(std::memory_order_relaxed);
    if (meta_epoch(meta) == p.epoch && meta_key_length(meta) == p.hash.length) {
      way = static_cast<int>(i);
      break;
    }
  }
  std::uint64_t words[max_value_bytes / 8];
  std::size_t length = 0;
  if (way >= 0 && meta_state(meta) == state_present) {
    length = std::min(meta_value_length(meta), max_value_bytes);
    for (std::size_t w = 0; w < (length + 7) / 8; ++w) {
      words[w] = b.values[way][w].load(std::memory_order_relaxed);
    }
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  if (b.version.load(std::memory_order_relaxed) != before) return p;  // torn: a plain miss
  p.token = before;
  if (way < 0) return p;
  if (meta_state(meta) == state_absent) {
    p.answer = user_cache::answer::absent;
  } else {
    value.assign(reinterpret_cast<const char*>(words), length);
    p.answer = user_cache::answer::found;
  }
  return p;
}

bool user_cache::fill(const probe& p, const std::string_view* value) noexcept {
  if ((p.token & 1) != 0 || p.answer != user_cache::answer::miss) return false;
  if (value != nullptr && value->size() > max_value_bytes) return false;
  bucket& b = bucket_of(p.hash);
  std::uint64_t expected = p.token;
  if (!b.version.compare_exchange_strong(expected, p.token + 1, std::memory_order_seq_cst)) {
    return false;  // written since the probe (or another fill is under way)
  }
  std::atomic_thread_fence(std::memory_order_release);
  bool filled = false;
  // An invalidate_all() after the probe makes the answer stale too.
  if (epoch_.load(std::memory_order_seq_cst) == p.epoch) {
    // The way: this key's own, else an empty or outdated one, else an absent user's; a present
    // user is evicted only by another present one (the bucket's tag picks which), so a stream
    // of unknown users cannot push out the audience.
    int own = -1, free_way = -1, absent_way = -1;
    for (std::size_t i = 0; i < ways; ++i) {
      const std::uint64_t tag = b.tags[i].load(std::memory_order_relaxed);
      const std::uint64_t meta = b.metas[i].load(std::memory_order_relaxed);
      const bool current = tag != 0 && meta_epoch(meta) == p.epoch;
      if (current && tag == p.hash.tag && meta_key_length(meta) == p.hash.length) {
        own = static_cast<int>(i);
      } else if (!current) {
        if (free_way < 0) free_way = static_cast<int>(i);
      } else if (meta_state(meta) == state_absent && absent_way < 0) {
        absent_way = static_cast<int>(i);
      }
    }
    int way = own >= 0 ? own : free_way >= 0 ? free_way : absent_way;
    if (way < 0 && value != nullptr) way = static_cast<int>(p.hash.tag % ways);
    if (way >= 0) {
      const std::size_t length = value != nullptr ? value->size() : 0;
      std::uint64_t words[max_value_bytes / 8] = {};
      if (length > 0) std::memcpy(words, value->data(), length);
      for (std::size_t w = 0; w < (length + 7) / 8; ++w) {
        b.values[way][w].store(words[w], std::memory_order_relaxed);
      }
      b.tags[way].store(p.hash.tag, std::memory_order_relaxed);
      b.metas[way].store(make_meta(p.epoch, p.hash.length, length,
                                   value != nullptr ? state_present : state_absent),
                         std::memory_order_relaxed);
      filled = true;
    }
  }
  b.version.store(p.token + 2, std::memory_order_release);
  return filled;
}

void user_cache::lock_for_writer(bucket& b, std::uint64_t& version) noexcept {
  version = b.version.load(std::memory_order_relaxed);
  for (unsigned spins = 0;; ++spins) {
    if ((version & 1) == 0 &&
        b.version.compare_exchange_weak(version, version + 1, std::memory_order_seq_cst)) {
      break;
    }
    // A bid thread's fill holds the bucket for a few stores; if it was preempted meanwhile,
    // let it run.
    if (spins % 64 == 63) {
      std::this_thread::yield();
    } else {
      cpu_relax();
    }
    version = b.version.load(std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_release);
}

void user_cache::invalidate(std::string_view key) noexcept { invalidate(hash(key)); }

void user_cache::invalidate(const key_hash& h) noexcept {
  bucket& b = bucket_of(h);
  std::uint64_t version = 0;
  lock_for_writer(b, version);
  for (std::size_t i = 0; i < ways; ++i) {
    b.tags[i].store(0, std::memory_order_relaxed);
    b.metas[i].store(0, std::memory_order_relaxed);
  }
  b.version.store(version + 2, std::memory_order_release);
}

void user_cache::invalidate_all() noexcept { epoch_.fetch_add(1, std::memory_order_seq_cst); }

user_cache::usage user_cache::count() const noexcept {
  usage u;
  const std::uint32_t epoch = epoch_.load(std::memory_order_acquire);
  for (std::size_t n = 0; n < bucket_count_; ++n) {
    const bucket& b = buckets_[n];
    for (std::size_t i = 0; i < ways; ++i) {
      if (b.tags[i].load(std::memory_order_relaxed) == 0) continue;
      const std::uint64_t meta = b.metas[i].load(std::memory_order_relaxed);
      if (meta_epoch(meta) != epoch) continue;
      if (meta_state(meta) == state_present) ++u.present;
      if (meta_state(meta) == state_absent) ++u.absent;
    }
  }
  return u;
}

}  // namespace bidder::audience
