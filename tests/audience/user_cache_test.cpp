#include "bidder/audience/user_cache.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using bidder::audience::user_cache;
using answer = user_cache::answer;

constexpr std::uint64_t seed = 0x5eed;

// Fills `key` as a bid thread would after reading the store: probe, then fill.
bool put(user_cache& cache, std::string_view key, std::string_view value) {
  std::string scratch;
  const user_cache::probe p = cache.find(key, scratch);
  return cache.fill(p, &value);
}
bool put_absent(user_cache& cache, std::string_view key) {
  std::string scratch;
  return cache.fill(cache.find(key, scratch), nullptr);
}
answer ask(const user_cache& cache, std::string_view key, std::string* value = nullptr) {
  std::string scratch;
  const answer a = cache.find(key, scratch).answer;
  if (value != nullptr) *value = scratch;
  return a;
}

}  // namespace

TEST_CASE("the user cache answers what was filled: a value, or that the user is absent",
          "[audience][unit]") {
  user_cache cache(std::size_t{1} << 20, seed);
  CHECK(cache.capacity() == cache.bucket_count() * user_cache::ways);
  CHECK(ask(cache, "user:a") == answer::miss);

  REQUIRE(put(cache, "user:a",
              std::string_view("\x03"
                               "abc\x01\x00",
                               6)));
  REQUIRE(put_absent(cache, "user:b"));
  REQUIRE(put(cache, "user:empty", ""));
  std::string value;
  CHECK(ask(cache, "user:a", &value) == answer::found);
  CHECK(value == std::string("\x03"
                             "abc\x01\x00",
                             6));
  CHECK(ask(cache, "user:b") == answer::absent);
  CHECK(ask(cache, "user:empty", &value) == answer::found);
  CHECK(value.empty());
  // Keys that share a prefix, or differ only in length, are different users.
  CHECK(ask(cache, "user:") == answer::miss);
  CHECK(ask(cache, "user:aa") == answer::miss);
  CHECK(ask(cache, std::string("user:a\0", 7)) == answer::miss);

  const auto held = cache.count();
  CHECK(held.present == 2);
  CHECK(held.absent == 1);

  // A prefetch is a hint only: the answers and the entries stay as they were.
  for (std::string_view key : {"user:a", "user:b", "user:never"}) cache.prefetch(key);
  CHECK(ask(cache, "user:a", &value) == answer::found);
  CHECK(ask(cache, "user:b") == answer::absent);
  CHECK(ask(cache, "user:never") == answer::miss);
  CHECK(cache.count().present == 2);
}

TEST_CASE("a value longer than a way is not cached", "[audience][unit]") {
  user_cache cache(std::size_t{1} << 20, seed);
  const std::string longest(user_cache::max_value_bytes, 'x');
  const std::string too_long(user_cache::max_value_bytes + 1, 'x');
  CHECK(put(cache, "user:fits", longest));
  CHECK_FALSE(put(cache, "user:long", too_long));
  std::string value;
  CHECK(ask(cache, "user:fits", &value) == answer::found);
  CHECK(value == longest);
  CHECK(ask(cache, "user:long") == answer::miss);
}

TEST_CASE("a fill after the user's invalidation is refused, so a stale read is never cached",
          "[audience][unit]") {
  user_cache cache(std::size_t{1} << 20, seed);
  std::string scratch;
  // A bid misses and reads the old value from the store...
  const user_cache::probe before_write = cache.find("user:a", scratch);
  REQUIRE(before_write.answer == answer::miss);
  // ...meanwhile the store is written and the user invalidated...
  cache.invalidate("user:a");
  // ...so the bid's fill, carrying what it read before the write, must not land.
  const std::string_view old_value = "old";
  CHECK_FALSE(cache.fill(before_write, &old_value));
  CHECK(ask(cache, "user:a") == answer::miss);

  // The same after an invalidation of everything.
  const user_cache::probe before_all = cache.find("user:a", scratch);
  cache.invalidate_all();
  CHECK_FALSE(cache.fill(before_all, &old_value));
  CHECK(ask(cache, "user:a") == answer::miss);

  // A probe taken after the write fills.
  CHECK(put(cache, "user:a", "new"));
  std::string value;
  CHECK(ask(cache, "user:a", &value) == answer::found);
  CHECK(value == "new");
  // A probe that found something is not a fill token.
  const user_cache::probe hit = cache.find("user:a", scratch);
  CHECK_FALSE(cache.fill(hit, &old_value));
}

TEST_CASE("invalidating drops the user's answers, and invalidate_all drops every answer",
          "[audience][unit]") {
  user_cache cache(std::size_t{1} << 20, seed);
  for (int i = 0; i < 100; ++i) REQUIRE(put(cache, "user:" + std::to_string(i), "v"));
  REQUIRE(put_absent(cache, "user:gone"));
  cache.invalidate("user:7");
  cache.invalidate("user:gone");
  CHECK(ask(cache, "user:7") == answer::miss);
  CHECK(ask(cache, "user:gone") == answer::miss);
  CHECK(ask(cache, "user:8") == answer::found);  // another bucket (almost surely): kept

  cache.invalidate_all();
  for (int i = 0; i < 100; ++i) CHECK(ask(cache, "user:" + std::to_string(i)) == answer::miss);
  CHECK(cache.count().present == 0);
  // It fills again afterwards.
  CHECK(put(cache, "user:1", "again"));
  CHECK(ask(cache, "user:1") == answer::found);
}

TEST_CASE("in a full bucket an absent user never evicts a present one", "[audience][unit]") {
  user_cache cache(user_cache::bucket_bytes, seed);  // one bucket: every key shares it
  REQUIRE(cache.bucket_count() == 1);
  REQUIRE(put(cache, "user:1", "one"));
  REQUIRE(put(cache, "user:2", "two"));
  REQUIRE(put_absent(cache, "user:3"));
  // The absent user's way is taken first by a present user...
  REQUIRE(put(cache, "user:4", "four"));
  CHECK(ask(cache, "user:3") == answer::miss);
  // ...and a stream of unknown users cannot take any way back.
  for (int i = 0; i < 50; ++i) CHECK_FALSE(put_absent(cache, "user:unknown-" + std::to_string(i)));
  CHECK(ask(cache, "user:1") == answer::found);
  CHECK(ask(cache, "user:2") == answer::found);
  CHECK(ask(cache, "user:4") == answer::found);
  // A present user does evict one (the bucket holds three).
  REQUIRE(put(cache, "user:5", "five"));
  int held = 0;
  for (const char* key : {"user:1", "user:2", "user:4", "user:5"}) {
    held += ask(cache, key) == answer::found;
  }
  CHECK(held == 3);
  CHECK(ask(cache, "user:5") == answer::found);
}

TEST_CASE("concurrent fills never cache a value older than the last finished invalidation",
          "[audience][unit]") {
  // Writers bump each key's version in the "store", then invalidate; readers probe, read the
  // store, fill. A reader must never be answered a version older than one whose invalidation
  // had finished before its probe.
  constexpr int keys = 16;
  constexpr int writes_per_key = 2'000;
  user_cache cache(user_cache::bucket_bytes * 4, seed);  // 4 buckets: heavy sharing
  struct key_state {
    std::atomic<std::uint64_t> stored{0};    // the store's value
    std::atomic<std::uint64_t> finished{0};  // invalidated after being stored
  };
  std::vector<key_state> state(keys);
  auto key_name = [](int k) { return "user:" + std::to_string(k); };
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> stale{0}, hits{0};

  auto reader = [&](int offset) {
    std::string value;
    std::uint64_t round = 0;
    while (!done.load(std::memory_order_acquire)) {
      const int k = static_cast<int>((round++ * 7 + static_cast<std::uint64_t>(offset)) % keys);
      const std::string key = key_name(k);
      const std::uint64_t floor = state[k].finished.load(std::memory_order_acquire);
      const user_cache::probe p = cache.find(key, value);
      if (p.answer == answer::found) {
        std::uint64_t got = 0;  // (no Catch assertion here: it is not thread-safe)
        if (value.size() == sizeof got) std::memcpy(&got, value.data(), sizeof got);
        if (value.size() != sizeof got || got < floor) stale.fetch_add(1);
        hits.fetch_add(1);
        continue;
      }
      const std::uint64_t read = state[k].stored.load(std::memory_order_acquire);
      char bytes[sizeof read];
      std::memcpy(bytes, &read, sizeof read);
      const std::string_view v(bytes, sizeof bytes);
      cache.fill(p, &v);
    }
  };
  std::thread r1(reader, 0), r2(reader, 3);
  for (int w = 1; w <= writes_per_key; ++w) {
    for (int k = 0; k < keys; ++k) {
      state[k].stored.store(static_cast<std::uint64_t>(w), std::memory_order_release);
      cache.invalidate(key_name(k));
      state[k].finished.store(static_cast<std::uint64_t>(w), std::memory_order_release);
    }
    if (w % 500 == 0) cache.invalidate_all();
  }
  done.store(true, std::memory_order_release);
  r1.join();
  r2.join();
  CHECK(stale.load() == 0);
  INFO("hits: " << hits.load());
}
