// Browsing events' memberships in the RocksDB store (rocksdb_events.cpp): blind merge operands.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bidder/audience/rocksdb_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using bidder::audience::event_membership;
using bidder::audience::lookup_status;
using bidder::audience::membership_view;
using bidder::audience::rocksdb_store;
using bidder::audience::update_mode;

constexpr bidder::unix_seconds now = 1'796'500'000;

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-audience-events-test") {}
  std::string db() const { return (path / "db").string(); }
};

std::unique_ptr<rocksdb_store> open_store(const std::string& path) {
  // The expiry filter's clock is the tests' `now`, not the wall clock.
  auto opened = rocksdb_store::open({.path = path, .clock = [] { return now; }});
  REQUIRE(opened.has_value());
  return std::move(*opened);
}

struct seen {
  std::string segment;
  bidder::unix_seconds last_seen, expires_at;
  bool operator==(const seen&) const = default;
};

std::vector<seen> lookup(rocksdb_store& store, std::string_view key) {
  std::vector<membership_view> views;
  const lookup_status status = store.lookup(key, now, views);
  REQUIRE((status == lookup_status::found || status == lookup_status::not_found));
  std::vector<seen> out;
  for (const auto& v : views) out.push_back({std::string(v.segment), v.last_seen, v.expires_at});
  return out;
}

void add(rocksdb_store& store, std::vector<event_membership> writes) {
  auto r = store.add_event_memberships(writes, /*sync=*/true);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
}

}  // namespace

TEST_CASE("event memberships are visible to the bid path's memory-only look-up at once",
          "[audience][events][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  add(*store, {{"buyeruid:b1", "auto-site-visitor", now - 1, 0},
               {"buyeruid:b1", "recent-buyer", now - 1, now + 86'400}});
  CHECK(lookup(*store, "buyeruid:b1") ==
        std::vector<seen>{{"auto-site-visitor", now - 1, 0},
                          {"recent-buyer", now - 1, now + 86'400}});
  CHECK(lookup(*store, "buyeruid:other").empty());
}

TEST_CASE("event memberships stay in memory for the bid path when their memtable is flushed",
          "[audience][events][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  add(*store, {{"buyeruid:b1", "auto-site-visitor", now - 1, 0}});
  REQUIRE(store->flush_for_test().has_value());
  // The flushed file's blocks went into the cache as it was written: the cache-only look-up
  // finds the user (not "not_in_memory").
  CHECK(lookup(*store, "buyeruid:b1") == std::vector<seen>{{"auto-site-visitor", now - 1, 0}});
}

TEST_CASE("an event never moves a membership back in time nor gives it an expiry",
          "[audience][events][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  // Pushed: never expires.
  const std::vector<bidder::audience::member> pushed = {{"ifa:d1", now - 100}};
  REQUIRE(store->update_segment("auto-site-visitor", update_mode::add, 0, pushed, now).has_value());
  add(*store, {{"ifa:d1", "auto-site-visitor", now - 50, now + 1000}});
  add(*store, {{"ifa:d1", "auto-site-visitor", now - 500, now + 10}});  // arrived late
  add(*store, {{"ifa:d1", "buyer", now - 10, now + 100}, {"ifa:d1", "buyer", now - 20, now + 50}});
  CHECK(lookup(*store, "ifa:d1") ==
        std::vector<seen>{{"auto-site-visitor", now - 50, 0}, {"buyer", now - 10, now + 100}});
  // And it survives a restart (and a compaction, which merges the operands).
  store.reset();
  store = open_store(dir.db());
  REQUIRE(store->compact().has_value());
  CHECK(lookup(*store, "ifa:d1") ==
        std::vector<seen>{{"auto-site-visitor", now - 50, 0}, {"buyer", now - 10, now + 100}});
}

TEST_CASE("forgetting a user removes event memberships too", "[audience][events][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  const std::vector<bidder::audience::member> pushed = {{"user:u1", now - 100}};
  REQUIRE(store->update_segment("pushed", update_mode::add, 0, pushed, now).has_value());
  add(*store, {{"user:u1", "from-events", now - 5, 0}});
  REQUIRE(lookup(*store, "user:u1").size() == 2);
  auto forgotten = store->forget_user("user:u1");
  REQUIRE(forgotten.has_value());
  CHECK(*forgotten);
  CHECK(lookup(*store, "user:u1").empty());
  auto left = store->user_memberships("user:u1", now);
  REQUIRE(left.has_value());
  CHECK(left->empty());
}

TEST_CASE("a segment only events feed is listed, its count marked as not exact",
          "[audience][events][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  add(*store, {{"user:a", "from-events", now, 0}, {"user:b", "from-events", now, 0}});
  auto listed = store->segments();
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().name == "from-events");
  CHECK(listed->front().members == 0);
  CHECK_FALSE(listed->front().exact);
}

TEST_CASE("a bad segment name or key writes nothing", "[audience][events][unit]") {
  temp_dir dir;
  auto store = open_store(dir.db());
  const std::vector<event_membership> writes = {{"user:a", "good", now, 0},
                                                {"user:a", "bad name", now, 0}};
  CHECK_FALSE(store->add_event_memberships(writes, true).has_value());
  const std::vector<event_membership> empty_key = {{"", "good", now, 0}};
  CHECK_FALSE(store->add_event_memberships(empty_key, true).has_value());
  CHECK(lookup(*store, "user:a").empty());
}
