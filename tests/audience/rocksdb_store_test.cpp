#include "bidder/audience/rocksdb_store.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "bidder/audience/store.hpp"
#include "bidder/audience/user_key.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::audience::decode_memberships;
using bidder::audience::encode_memberships;
using bidder::audience::lookup_status;
using bidder::audience::membership;
using bidder::audience::membership_view;
using bidder::audience::rocksdb_options;
using bidder::audience::rocksdb_store;

/// The time look-ups are made at; the memberships below never expire, so any value works.
constexpr bidder::unix_seconds now = 1'750'000'000;

// This file's temporary directories (tests/support/temp_dir.hpp).
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-audience-test") {}
  std::string db() const { return (path / "db").string(); }
};

std::unique_ptr<rocksdb_store> open_store(const std::string& path) {
  auto opened = rocksdb_store::open({.path = path});
  INFO((opened ? std::string() : opened.error().message));
  REQUIRE(opened);
  return std::move(*opened);
}

struct plain_membership {
  std::string segment;
  bidder::unix_seconds last_seen;
  bool operator==(const plain_membership&) const = default;
};

std::vector<plain_membership> plain(const std::vector<membership_view>& views) {
  std::vector<plain_membership> out;
  for (const auto& v : views) out.push_back({std::string(v.segment), v.last_seen});
  return out;
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<plain_membership> {
  static std::string convert(const plain_membership& m) {
    return "{" + m.segment + ", " + std::to_string(m.last_seen) + "}";
  }
};
}  // namespace Catch

TEST_CASE("memberships survive an encode/decode round trip", "[audience][unit]") {
  const std::vector<membership> in = {
      {"auto-site-visitor", 1'750'000'000},
      {"", 0},                                  // empty name, zero time
      {std::string(300, 'x'), 1},               // a name longer than one varint byte
      {"big-time", std::int64_t{1} << 40},      // a multi-byte varint time
      {std::string("nul\0inside", 10), 12345},  // bytes are opaque
      {"expiring", 1'700'000'000, 1'800'000'000}};
  std::string value = "stale";
  encode_memberships(in, value);
  CHECK(value.size() > 300);

  std::vector<membership_view> out = {{"already-here", 7}};
  REQUIRE(decode_memberships(value, 0, out));
  REQUIRE(out.size() == 1 + in.size());
  CHECK(out[0].segment == "already-here");  // decode appends
  for (std::size_t i = 0; i < in.size(); ++i) {
    CAPTURE(i);
    CHECK(out[i + 1].segment == in[i].segment);
    CHECK(out[i + 1].last_seen == in[i].last_seen);
    CHECK(out[i + 1].expires_at == in[i].expires_at);
  }

  SECTION("an empty list encodes to nothing and decodes to nothing") {
    encode_memberships(std::vector<membership>{}, value);
    CHECK(value.empty());
    std::vector<membership_view> none;
    CHECK(decode_memberships(value, 0, none));
    CHECK(none.empty());
  }
  SECTION("a negative time is stored as 0") {
    const std::vector<membership> negative = {{"s", -5}};
    encode_memberships(negative, value);
    std::vector<membership_view> decoded;
    REQUIRE(decode_memberships(value, 0, decoded));
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0].last_seen == 0);
  }
}

TEST_CASE("decoding at a time skips the memberships expired by then", "[audience][unit]") {
  const std::vector<membership> in = {
      {"never", 100, 0}, {"expires-at-1000", 100, 1000}, {"expires-at-2000", 100, 2000}};
  std::string value;
  encode_memberships(in, value);
  auto segments_at = [&](bidder::unix_seconds t) {
    std::vector<membership_view> out;
    REQUIRE(decode_memberships(value, t, out));
    std::vector<std::string> names;
    for (const auto& m : out) names.emplace_back(m.segment);
    return names;
  };
  using names = std::vector<std::string>;
  CHECK(segments_at(0) == names{"never", "expires-at-1000", "expires-at-2000"});  // 0: all
  CHECK(segments_at(999) == names{"never", "expires-at-1000", "expires-at-2000"});
  CHECK(segments_at(1000) == names{"never", "expires-at-2000"});  // expired at its expiry time
  CHECK(segments_at(1999) == names{"never", "expires-at-2000"});
  CHECK(segments_at(2000) == names{"never"});

  SECTION("the membership_view overload encodes the same bytes") {
    const std::vector<membership_view> views = {
        {"never", 100, 0}, {"expires-at-1000", 100, 1000}, {"expires-at-2000", 100, 2000}};
    std::string from_views;
    encode_memberships(views, from_views);
    CHECK(from_views == value);
  }
}

TEST_CASE("corrupt stored values are rejected and leave the output unchanged", "[audience][unit]") {
  const std::vector<membership> in = {{"first", 100}, {"second", 1'750'000'000}};
  std::string good;
  encode_memberships(in, good);

  std::string bad;
  SECTION("truncated varint of the length") { bad = std::string("\x80", 1); }
  SECTION("truncated varint of the time") {
    bad = good.substr(0, good.size() - 1);  // 1'750'000'000 needs 5 varint bytes
  }
  SECTION("length past the end") {
    bad = std::string(
        "\x05"
        "abc",
        4);
  }
  SECTION("length past the end in the second membership") {
    bad = good;
    bad += std::string(
        "\x7f"
        "xy",
        3);
  }
  SECTION("a varint longer than 64 bits") { bad = std::string(11, '\xff'); }
  SECTION("a time beyond int64") {
    bad = std::string(
        "\x01"
        "s",
        2);
    bad += std::string(9, '\xff');
    bad += '\x01';  // 2^64 - 1
  }

  std::vector<membership_view> out = {{"kept", 42}};
  CHECK_FALSE(decode_memberships(bad, 0, out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].segment == "kept");
  CHECK(out[0].last_seen == 42);
}

TEST_CASE("a written user is found by lookup with its memberships", "[audience][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  const std::vector<membership> memberships = {{"auto-site-visitor", 1'700'000'000},
                                               {"old-car-owner", 1'600'000'000}};
  REQUIRE(store->write_user("user:abc", memberships));

  std::vector<membership_view> out;
  REQUIRE(store->lookup("user:abc", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"auto-site-visitor", 1'700'000'000},
                                                    {"old-car-owner", 1'600'000'000}});

  SECTION("an unknown user is not_found and adds nothing") {
    std::vector<membership_view> none;
    CHECK(store->lookup("user:abd", now, none) == lookup_status::not_found);
    CHECK(store->lookup("user:ab", now, none) == lookup_status::not_found);
    CHECK(store->lookup("buyeruid:abc", now, none) == lookup_status::not_found);
    CHECK(none.empty());
  }
  SECTION("writing a user again replaces every membership") {
    const std::vector<membership> replacement = {{"sports-fan", 5}};
    REQUIRE(store->write_user("user:abc", replacement));
    std::vector<membership_view> again;
    REQUIRE(store->lookup("user:abc", now, again) == lookup_status::found);
    CHECK(plain(again) == std::vector<plain_membership>{{"sports-fan", 5}});
  }
  SECTION("lookup appends to what the caller already has") {
    std::vector<membership_view> appended = {{"from-another-key", 1}};
    REQUIRE(store->lookup("user:abc", now, appended) == lookup_status::found);
    CHECK(appended.size() == 3);
    CHECK(appended[0].segment == "from-another-key");
  }
}

TEST_CASE("lookup leaves out the memberships expired at the time it is given", "[audience][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  const std::vector<membership> memberships = {{"lasting", 100, 0}, {"short-lived", 100, now}};
  REQUIRE(store->write_user("user:abc", memberships));

  std::vector<membership_view> out;
  REQUIRE(store->lookup("user:abc", now - 1, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"lasting", 100}, {"short-lived", 100}});
  REQUIRE(out.size() == 2);
  CHECK(out[0].expires_at == 0);
  CHECK(out[1].expires_at == now);
  out.clear();
  REQUIRE(store->lookup("user:abc", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"lasting", 100}});

  SECTION("a user whose every membership expired is found with none") {
    const std::vector<membership> expired = {{"short-lived", 100, now}};
    REQUIRE(store->write_user("user:gone", expired));
    std::vector<membership_view> none;
    CHECK(store->lookup("user:gone", now, none) == lookup_status::found);
    CHECK(none.empty());
  }
}

TEST_CASE("is_empty is true for a new store and false once a user is written", "[audience][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  auto empty = store->is_empty();
  REQUIRE(empty);
  CHECK(*empty);
  const std::vector<membership> one = {{"s", 1}};
  REQUIRE(store->write_user("ifa:device-1", one));
  auto not_empty = store->is_empty();
  REQUIRE(not_empty);
  CHECK_FALSE(*not_empty);
}

TEST_CASE("a reopened store still finds its users after the open's cache warm-up",
          "[audience][unit]") {
  temp_dir dir;
  {
    auto store = open_store(dir.db());
    const std::vector<membership> a = {{"auto-site-visitor", 1'700'000'000}};
    const std::vector<membership> b = {{"sports-fan", 1'650'000'000}, {"old-car-owner", 3}};
    REQUIRE(store->write_user("user:a", a));
    REQUIRE(store->write_user("eid:uidapi.com:b", b));
  }  // closed here

  auto store = open_store(dir.db());
  auto empty = store->is_empty();
  REQUIRE(empty);
  CHECK_FALSE(*empty);
  std::vector<membership_view> out;
  REQUIRE(store->lookup("user:a", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"auto-site-visitor", 1'700'000'000}});
  out.clear();
  REQUIRE(store->lookup("eid:uidapi.com:b", now, out) == lookup_status::found);
  CHECK(plain(out) ==
        std::vector<plain_membership>{{"sports-fan", 1'650'000'000}, {"old-car-owner", 3}});
  out.clear();
  // (A thread that read from a closed store must still be able to exit: see the case below.)
  CHECK(store->lookup("user:c", now, out) == lookup_status::not_found);
}

namespace {

// A store holding "user:a", closed and reopened without the open's cache warm-up: its data is
// on disk only, so the bid path's look-ups find it not in memory.
std::unique_ptr<rocksdb_store> reopened_cold_with_user_a(temp_dir& dir) {
  {
    auto store = open_store(dir.db());
    const std::vector<membership> a = {{"auto-site-visitor", 1'700'000'000}};
    REQUIRE(store->write_user("user:a", a));
  }
  auto opened = rocksdb_store::open({.path = dir.db(), .warm_cache_on_open = false});
  REQUIRE(opened);
  return std::move(*opened);
}

}  // namespace

TEST_CASE("a user a bid found not in memory is read in the background for the next bid",
          "[audience][unit]") {
  temp_dir dir;
  auto opened = reopened_cold_with_user_a(dir);
  auto& store = *opened;
  std::vector<membership_view> out;
  REQUIRE(store.lookup("user:a", now, out) == lookup_status::not_in_memory);  // offered
  // The warmer thread reads offered keys between naps: a bound, not a pause.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  lookup_status status = lookup_status::not_in_memory;
  while (status == lookup_status::not_in_memory && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
    out.clear();
    status = store.lookup("user:a", now, out);
  }
  CHECK(status == lookup_status::found);
}

TEST_CASE("without the warm-up a reopened store answers not_in_memory until warm_cache()",
          "[audience][unit]") {
  temp_dir dir;
  auto opened = reopened_cold_with_user_a(dir);
  auto& store = *opened;
  std::vector<membership_view> out;
  CHECK(store.lookup("user:a", now, out) == lookup_status::not_in_memory);
  CHECK(out.empty());
  REQUIRE(store.warm_cache());
  REQUIRE(store.lookup("user:a", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"auto-site-visitor", 1'700'000'000}});
  out.clear();
  CHECK(store.lookup("user:b", now, out) == lookup_status::not_found);  // releases the pinned block
}

TEST_CASE("a thread can look up and exit after the store it last read from is destroyed",
          "[audience][unit]") {
  // lookup() keeps the value in a thread_local PinnableSlice that pins a block of the store's
  // cache. When the store is destroyed first, the thread's next lookup (in any store) and the
  // thread's exit release that pin into freed memory. Run in a child process so that a crash
  // fails this test instead of killing the test binary.
  temp_dir dir;
  const std::string a = dir.db() + "-a";
  const std::string b = dir.db() + "-b";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Catch2's fatal-signal handlers would report from the child too; the parent reports.
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE}) std::signal(sig, SIG_DFL);
    ::alarm(30);  // a hang in the child fails the test too
    int code = 0;
    std::thread worker([&] {
      const std::vector<membership> m = {{"seg", 5}};
      {
        auto store = rocksdb_store::open({.path = a});
        if (!store || !(*store)->write_user("user:a", m)) code = 1;
      }
      if (code != 0) return;
      {
        // Reopened: the user is read from a table file through the block cache.
        auto store = rocksdb_store::open({.path = a});
        std::vector<membership_view> out;
        if (!store || (*store)->lookup("user:a", now, out) != lookup_status::found) code = 2;
      }
      if (code != 0) return;
      auto other = rocksdb_store::open({.path = b});
      std::vector<membership_view> out;
      if (!other || (*other)->lookup("user:a", now, out) != lookup_status::not_found) code = 3;
    });
    worker.join();
    std::_Exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", signal "
                            << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  const bool exited_cleanly = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  CHECK(exited_cleanly);
}

TEST_CASE("opening a store where a file blocks the directory fails with io_error",
          "[audience][unit]") {
  temp_dir dir;
  const fs::path blocker = dir.path / "not-a-dir";
  {
    std::FILE* f = std::fopen(blocker.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
  }
  auto opened = rocksdb_store::open({.path = (blocker / "db").string()});
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == bidder::errc::io_error);
  CHECK_THAT(opened.error().message, Catch::Contains("not-a-dir"));
}

TEST_CASE("make_user_key prefixes each kind of id with its namespace", "[audience][unit]") {
  std::string key = "stale";
  using bidder::audience::id_namespace;
  bidder::audience::make_user_key(id_namespace::buyeruid, {}, "b-1", key);
  CHECK(key == "buyeruid:b-1");
  bidder::audience::make_user_key(id_namespace::user, {}, "u-1", key);
  CHECK(key == "user:u-1");
  bidder::audience::make_user_key(id_namespace::ifa, {}, "6d92078a", key);
  CHECK(key == "ifa:6d92078a");
  bidder::audience::make_user_key(id_namespace::eid, "uidapi.com", "e-1", key);
  CHECK(key == "eid:uidapi.com:e-1");
}

namespace {

std::vector<bidder::audience::member> members_named(const std::vector<std::string>& keys) {
  std::vector<bidder::audience::member> out;
  for (const auto& key : keys) out.push_back({key, 1'700'000'000});
  return out;
}

}  // namespace

TEST_CASE("with a row cache, look-ups find the same memberships and follow later updates",
          "[audience][unit]") {
  using bidder::audience::update_mode;
  temp_dir dir;
  auto opened = rocksdb_store::open({.path = dir.db(), .row_cache_bytes = std::size_t{8} << 20});
  REQUIRE(opened);
  auto& store = **opened;
  REQUIRE(store
              .update_segment("cars", update_mode::replace, 0,
                              members_named({"user:a", "user:b", "user:c"}), now)
              .has_value());
  auto warmed = store.warm_row_cache();
  REQUIRE(warmed);
  CHECK(*warmed == 3);
  const auto usage = store.caches();
  CHECK(usage.row_cache_capacity == std::size_t{8} << 20);
  CHECK(usage.row_cache_bytes > 0);
  CHECK(usage.block_cache_bytes > 0);

  std::vector<membership_view> out;
  REQUIRE(store.lookup("user:a", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"cars", 1'700'000'000}});

  // The cached rows belong to the files they were read from: an update adds files, and the
  // look-up must see it even though the old rows are still in the cache.
  REQUIRE(store.update_segment("cars", update_mode::remove, 0, members_named({"user:a"}), now)
              .has_value());
  REQUIRE(store.update_segment("sports", update_mode::add, 0, members_named({"user:b"}), now)
              .has_value());
  out.clear();
  const lookup_status a = store.lookup("user:a", now, out);
  CHECK((a == lookup_status::not_found || (a == lookup_status::found && out.empty())));
  out.clear();
  REQUIRE(store.lookup("user:b", now, out) == lookup_status::found);
  CHECK(plain(out) ==
        std::vector<plain_membership>{{"cars", 1'700'000'000}, {"sports", 1'700'000'000}});
  out.clear();
  REQUIRE(store.lookup("user:c", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"cars", 1'700'000'000}});
  CHECK(store.caches().row_cache_bytes >= usage.row_cache_bytes);
}

TEST_CASE("warming the row cache stops when it is nearly full and look-ups still find everyone",
          "[audience][unit]") {
  using bidder::audience::update_mode;
  temp_dir dir;
  // 256 KiB hold about 1,700 rows here: 4,096 users cannot all fit.
  auto opened = rocksdb_store::open({.path = dir.db(), .row_cache_bytes = std::size_t{256} << 10});
  REQUIRE(opened);
  auto& store = **opened;
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "user:%06d", i);
    keys.emplace_back(key);
  }
  REQUIRE(
      store.update_segment("cars", update_mode::replace, 0, members_named(keys), now).has_value());
  auto warmed = store.warm_row_cache();
  REQUIRE(warmed);
  CHECK(*warmed < keys.size());
  CHECK(*warmed >= 1024);
  CHECK(store.caches().row_cache_bytes <= store.caches().row_cache_capacity);
  std::vector<membership_view> out;
  std::size_t found = 0;
  for (const auto& key : keys) {
    out.clear();
    found += store.lookup(key, now, out) == lookup_status::found && out.size() == 1;
  }
  CHECK(found == keys.size());
}

TEST_CASE("a store without a row cache warms no rows and reports none", "[audience][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  REQUIRE(store->write_user("user:a", std::vector<membership>{{"cars", 1}}));
  auto warmed = store->warm_row_cache();
  REQUIRE(warmed);
  CHECK(*warmed == 0);
  CHECK(store->caches().row_cache_capacity == 0);
  CHECK(store->caches().row_cache_bytes == 0);
}

TEST_CASE("a small push warms the users it writes, not the whole store", "[audience][unit]") {
  using bidder::audience::update_mode;
  auto keys = [](char prefix, int count, int first = 0) {
    std::vector<std::string> out;
    char buffer[32];
    for (int i = first; i < first + count; ++i) {
      std::snprintf(buffer, sizeof buffer, "user:%c%06d", prefix, i);
      out.emplace_back(buffer);
    }
    return out;
  };
  temp_dir dir;
  {
    auto store = open_store(dir.db());
    REQUIRE(
        store->update_segment("old", update_mode::replace, 0, members_named(keys('a', 20000)), now)
            .has_value());
  }
  auto opened = rocksdb_store::open({.path = dir.db(), .warm_cache_on_open = false});
  REQUIRE(opened);
  auto& store = **opened;
  std::vector<membership_view> out;
  REQUIRE(store.lookup("user:a000000", now, out) == lookup_status::not_in_memory);

  // 100 users against 20,000 stored: their own data is read into the cache, and only theirs.
  const auto added = keys('z', 100);
  REQUIRE(store.update_segment("new", update_mode::add, 0, members_named(added), now).has_value());
  for (const std::string& key : added) {
    out.clear();
    INFO(key);
    REQUIRE(store.lookup(key, now, out) == lookup_status::found);
    CHECK(plain(out) == std::vector<plain_membership>{{"new", 1'700'000'000}});
  }
  // A user the push did not write is still on disk only. (Not user:a000000: the look-up above
  // offered it to the warmer thread, which may have read it since.)
  out.clear();
  CHECK(store.lookup("user:a010000", now, out) == lookup_status::not_in_memory);

  // Old users an update writes to are warmed too, with their older data under the new operand.
  // (Far from the users looked up above, whose blocks the warmer may have read.)
  const auto moved = keys('a', 50, 15000);
  REQUIRE(store.update_segment("new", update_mode::add, 0, members_named(moved), now).has_value());
  out.clear();
  REQUIRE(store.lookup("user:a015049", now, out) == lookup_status::found);
  CHECK(plain(out) ==
        std::vector<plain_membership>{{"old", 1'700'000'000}, {"new", 1'700'000'000}});
}

namespace {

// The store's write-ahead log files (*.log).
std::size_t wal_files(const std::string& db) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(db)) {
    if (entry.path().extension() == ".log") ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("reopening a store leaves no empty write-ahead log behind and loses no write",
          "[audience][unit]") {
  using bidder::audience::update_mode;
  temp_dir dir;
  {
    auto store = open_store(dir.db());
    REQUIRE(store->update_segment("cars", update_mode::replace, 0, members_named({"user:a"}), now)
                .has_value());
  }
  // RocksDB 7.8 alone left one more empty .log per open (see remove_empty_old_wals).
  for (int i = 0; i < 4; ++i) open_store(dir.db());
  CHECK(wal_files(dir.db()) <= 1);

  // A crash right after a write: the image holds the write in its WAL only, and it is kept.
  auto store = open_store(dir.db());
  const std::vector<membership> b = {{"sports-fan", 1'650'000'000}};
  REQUIRE(store->write_user("user:b", b));
  const std::string image = (dir.path / "crash-image").string();
  fs::copy(dir.db(), image);
  store.reset();
  auto recovered = open_store(image);
  std::vector<membership_view> out;
  REQUIRE(recovered->lookup("user:b", now, out) == lookup_status::found);
  CHECK(plain(out) == std::vector<plain_membership>{{"sports-fan", 1'650'000'000}});
  out.clear();
  CHECK(recovered->lookup("user:a", now, out) == lookup_status::found);
}

TEST_CASE("with the user cache, look-ups follow every kind of write", "[audience][unit]") {
  using bidder::audience::event_membership;
  using bidder::audience::update_mode;
  temp_dir dir;
  auto opened = rocksdb_store::open({.path = dir.db(), .user_cache_bytes = std::size_t{1} << 20});
  REQUIRE(opened);
  auto& store = **opened;
  CHECK(store.caches().user_cache_capacity > 0);
  auto segments_of = [&](std::string_view key) {
    std::vector<membership_view> out;
    const lookup_status status = store.lookup(key, now, out);
    std::vector<std::string> names;
    for (const membership_view& m : out) names.emplace_back(m.segment);
    return std::make_pair(status, names);
  };
  using answer = std::pair<lookup_status, std::vector<std::string>>;
  const answer absent{lookup_status::not_found, {}};

  // Each look-up is asked twice: the first fills the cache, the second is answered by it.
  auto twice = [&](std::string_view key) {
    const answer first = segments_of(key);
    CHECK(segments_of(key) == first);
    return first;
  };
  REQUIRE(store.write_user("user:a", std::vector<membership>{{"cars", now - 10}}).has_value());
  CHECK(twice("user:a") == answer{lookup_status::found, {"cars"}});
  CHECK(twice("user:z") == absent);
  CHECK(store.count_user_cache().present == 1);
  CHECK(store.count_user_cache().absent == 1);

  // write_user: a cached user, then a user cached as absent.
  REQUIRE(store.write_user("user:a", std::vector<membership>{{"boats", now - 5}}).has_value());
  CHECK(twice("user:a") == answer{lookup_status::found, {"boats"}});
  REQUIRE(store.write_user("user:z", std::vector<membership>{{"cars", now - 5}}).has_value());
  CHECK(twice("user:z") == answer{lookup_status::found, {"cars"}});

  // A push: a member added, one removed by a replace, an absent user who joins.
  CHECK(twice("user:new") == absent);
  REQUIRE(store
              .update_segment("cars", update_mode::replace, 0,
                              members_named({"user:a", "user:new"}), now)
              .has_value());
  CHECK(twice("user:a") == answer{lookup_status::found, {"boats", "cars"}});
  CHECK(twice("user:new") == answer{lookup_status::found, {"cars"}});
  CHECK(twice("user:z").second.empty());  // left "cars", its only segment

  // Browsing events, for a cached user and for a user cached as absent.
  CHECK(twice("user:e") == absent);
  const std::vector<event_membership> events = {{"user:e", "read-news", now - 1, 0},
                                                {"user:a", "read-news", now - 1, 0}};
  REQUIRE(store.add_event_memberships(events, /*sync=*/false).has_value());
  CHECK(twice("user:e") == answer{lookup_status::found, {"read-news"}});
  CHECK(twice("user:a") == answer{lookup_status::found, {"boats", "cars", "read-news"}});

  // Forgetting.
  REQUIRE(store.forget_user("user:a").has_value());
  CHECK(twice("user:a") == absent);
}

TEST_CASE("the user cache is filled at open, and refilled after a push too large to list",
          "[audience][unit]") {
  using bidder::audience::update_mode;
  temp_dir dir;
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("user:" + std::to_string(100 + i));
  {
    auto first = open_store(dir.db());
    REQUIRE(first->update_segment("cars", update_mode::replace, 0, members_named(keys), now)
                .has_value());
  }
  // 16 buckets, 48 ways: the open fills three quarters at most, in key order.
  auto opened = rocksdb_store::open(
      {.path = dir.db(), .user_cache_bytes = bidder::audience::user_cache::bucket_bytes * 16});
  REQUIRE(opened);
  auto& store = **opened;
  const auto at_open = store.count_user_cache();
  CHECK(at_open.present > 0);
  CHECK(at_open.present <= 36);
  CHECK(at_open.absent == 0);

  // A push of more users than a quarter of the cache holds drops everything; the warmer thread
  // then refills it with fresh reads.
  REQUIRE(
      store
          .update_segment("boats", update_mode::add, 0,
                          members_named({"user:100", "user:101", "user:102", "user:103", "user:104",
                                         "user:105", "user:106", "user:107", "user:108", "user:109",
                                         "user:110", "user:111", "user:112"}),
                          now)
          .has_value());
  // The warmer thread refills between naps: a bound, not a pause.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store.count_user_cache().present == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  CHECK(store.count_user_cache().present > 0);
  for (const std::string& key : keys) {
    std::vector<membership_view> out;
    REQUIRE(store.lookup(key, now, out) == lookup_status::found);
    std::vector<std::string> names;
    for (const membership_view& m : out) names.emplace_back(m.segment);
    const bool in_boats = key <= "user:112";
    CHECK(names == (in_boats ? std::vector<std::string>{"cars", "boats"}
                             : std::vector<std::string>{"cars"}));
  }
}

TEST_CASE("a user cache larger than the machine can map fails the open with a clear error",
          "[audience][unit]") {
  temp_dir dir;
  // 2^62 bytes: more address space than x86-64 has, so the mapping is refused.
  auto opened = rocksdb_store::open({.path = dir.db(), .user_cache_bytes = std::size_t{1} << 62});
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == bidder::errc::io_error);
  CHECK_THAT(opened.error().message,
             Catch::Contains("cannot reserve") && Catch::Contains("audience user cache"));
}
