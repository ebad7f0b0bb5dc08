// The browsing events service's durability (docs/audience-events.md "Durability"): what
// POST /admin/events hands the store under each post_durability, the once-a-second sync of
// the write-ahead log on its injected clock, and, for SYNC_EVERY_SECOND's promise, a bidder
// killed with SIGKILL right after acknowledging a body, before any sync, keeps every
// membership of that body.
#include "bidder/app/audience_event_service.hpp"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "bidder/audience/rocksdb_store.hpp"
#include "tests/support/killed_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using bidder::unix_seconds;
using bidder::app::audience_event_options;
using bidder::app::audience_event_service;
using bidder::audience::event_membership;
using bidder::audience::rocksdb_store;
using bidder::config::v1::AudienceEvents;
namespace audience = bidder::audience;

constexpr unix_seconds now = 1'796'500'000;
constexpr std::int64_t second_ns = 1'000'000'000;

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-event-durability-test") {}
  std::string db() const { return (path / "db").string(); }
};

// The real store, with a record of the sync flag of each event write and of each WAL sync.
class recording_store final : public audience::segment_store {
 public:
  explicit recording_store(rocksdb_store& inner) : inner_(inner) {}

  std::vector<bool> event_write_syncs() const {
    std::lock_guard lock(mutex_);
    return syncs_;
  }
  int wal_syncs() const { return wal_syncs_.load(); }

  bidder::result<void> add_event_memberships(std::span<const event_membership> memberships,
                                             bool sync) override {
    {
      std::lock_guard lock(mutex_);
      syncs_.push_back(sync);
    }
    return inner_.add_event_memberships(memberships, sync);
  }
  bidder::result<void> sync_wal() override {
    ++wal_syncs_;
    return inner_.sync_wal();
  }

  // The rest, passed through.
  audience::lookup_status lookup(std::string_view key, unix_seconds at,
                                 std::vector<audience::membership_view>& out) noexcept override {
    return inner_.lookup(key, at, out);
  }
  bidder::result<void> write_user(std::string_view key,
                                  std::span<const audience::membership> m) override {
    return inner_.write_user(key, m);
  }
  bidder::result<bool> is_empty() override { return inner_.is_empty(); }
  bidder::result<audience::update_result> update_segment(std::string_view segment,
                                                         audience::update_mode mode,
                                                         std::uint32_t ttl_days,
                                                         std::span<const audience::member> members,
                                                         unix_seconds at) override {
    return inner_.update_segment(segment, mode, ttl_days, members, at);
  }
  bidder::result<audience::update_result> update_segment(std::string_view segment,
                                                         audience::update_mode mode,
                                                         std::uint32_t ttl_days,
                                                         audience::member_source& members,
                                                         unix_seconds at) override {
    return inner_.update_segment(segment, mode, ttl_days, members, at);
  }
  bidder::result<audience::update_result> update_segment_from_file(
      std::string_view segment, audience::update_mode mode, std::uint32_t ttl_days,
      const std::string& file, std::uint64_t members, unix_seconds at) override {
    return inner_.update_segment_from_file(segment, mode, ttl_days, file, members, at);
  }
  bidder::result<std::vector<audience::segment_info>> segments() override {
    return inner_.segments();
  }
  bidder::result<std::vector<audience::membership>> user_memberships(std::string_view key,
                                                                     unix_seconds at) override {
    return inner_.user_memberships(key, at);
  }
  bidder::result<bool> forget_user(std::string_view key) override {
    return inner_.forget_user(key);
  }
  bidder::result<void> compact() override { return inner_.compact(); }
  const std::string& path() const noexcept override { return inner_.path(); }
  cache_usage caches() const noexcept override { return inner_.caches(); }

 private:
  rocksdb_store& inner_;
  mutable std::mutex mutex_;
  std::vector<bool> syncs_;
  std::atomic<int> wal_syncs_{0};
};

AudienceEvents events_config(AudienceEvents::PostDurability durability) {
  AudienceEvents config;
  auto* source = config.add_sources();
  source->set_id("auto");
  source->set_max_per_second(100'000);
  auto* rule = config.add_rules();
  rule->set_id("visitors");
  rule->set_segment("auto-site-visitor");
  rule->add_url_prefixes("example-auto.com/models/");
  config.set_post_durability(durability);
  return config;
}

std::string user_key(int i) { return "buyeruid:u" + std::to_string(i); }

// `count` page views of users first..first+count-1, each matching the rule.
std::string body(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    out += R"({"source":"auto","user_id":")" + user_key(i) +
           R"(","action":"page_view","url":"https://example-auto.com/models/suv"})"
           "\n";
  }
  return out;
}

std::unique_ptr<rocksdb_store> open_store(const std::string& path) {
  auto opened = rocksdb_store::open({.path = path, .clock = [] { return now; }});
  INFO((opened ? std::string() : opened.error().message));
  REQUIRE(opened.has_value());
  return std::move(*opened);
}

bool is_member(audience::segment_store& store, const std::string& key) {
  auto memberships = store.user_memberships(key, now);
  REQUIRE(memberships.has_value());
  for (const auto& m : *memberships) {
    if (m.segment == "auto-site-visitor") return true;
  }
  return false;
}

}  // namespace

TEST_CASE("browsing event bodies are synced by default, written unsynced with SYNC_EVERY_SECOND",
          "[app][events][unit]") {
  temp_dir dir;
  auto inner = open_store(dir.db());
  recording_store store(*inner);
  std::atomic<std::int64_t> clock{1'000 * second_ns};
  const audience_event_options options{.clock_ns = [&] { return clock.load(); }};

  SECTION("SYNC_EACH_POST (the default): each body synced, no periodic sync") {
    AudienceEvents config = events_config(AudienceEvents::SYNC_EACH_POST);
    config.clear_post_durability();  // the default is the synced one
    audience_event_service service(store, config, options);
    CHECK(service.durability() == AudienceEvents::SYNC_EACH_POST);
    CHECK(service.post(body(0, 3), now).first == 200);
    CHECK(service.post(body(3, 2), now).first == 200);
    CHECK(store.event_write_syncs() == std::vector<bool>{true, true});
    clock += 10 * second_ns;
    service.check_wal_sync();
    service.stop();
    CHECK(store.wal_syncs() == 0);
  }
  SECTION("SYNC_EVERY_SECOND: bodies unsynced, the log synced once a second and at stop") {
    audience_event_service service(store, events_config(AudienceEvents::SYNC_EVERY_SECOND),
                                   options);
    CHECK(service.durability() == AudienceEvents::SYNC_EVERY_SECOND);
    CHECK(service.post(body(0, 3), now).first == 200);
    CHECK(service.post(body(3, 2), now).first == 200);
    CHECK(store.event_write_syncs() == std::vector<bool>{false, false});
    CHECK(is_member(store, user_key(4)));  // readable at once, synced or not

    service.check_wal_sync();
    CHECK(store.wal_syncs() == 0);  // not due yet
    clock += second_ns - 1;
    service.check_wal_sync();
    CHECK(store.wal_syncs() == 0);
    clock += 1;
    service.check_wal_sync();
    CHECK(store.wal_syncs() == 1);
    clock += second_ns;
    service.check_wal_sync();
    CHECK(store.wal_syncs() == 2);

    std::string metrics;
    service.write_metrics(metrics);
    CHECK_THAT(metrics, Catch::Contains("bidder_audience_event_wal_syncs_total{result=\"ok\"} 2"));
    CHECK_THAT(metrics,
               Catch::Contains("bidder_audience_event_wal_syncs_total{result=\"failed\"} 0"));
    service.stop();
    CHECK(store.wal_syncs() == 3);  // the last one at stop
  }
}

namespace {

// The child: a bidder's event service in SYNC_EVERY_SECOND on a clock that never moves (so
// nothing syncs the log), acknowledges a body, tells the parent through `progress`, and waits
// to be killed. Never returns.
[[noreturn]] void run_acknowledger(const std::string& path, int progress, int users) {
  auto opened = rocksdb_store::open({.path = path, .clock = [] { return now; }});
  if (!opened) std::_Exit(2);
  recording_store store(**opened);
  // Heap-allocated and never destroyed: the kill comes first.
  auto* service = new audience_event_service(  // NOLINT(cppcoreguidelines-owning-memory)
      store, events_config(AudienceEvents::SYNC_EVERY_SECOND),
      {.clock_ns = [] { return std::int64_t{1'000} * second_ns; }});
  if (service->post(body(0, users), now).first != 200) std::_Exit(3);
  if (store.event_write_syncs() != std::vector<bool>{false} || store.wal_syncs() != 0) {
    std::_Exit(4);
  }
  const char byte = 'k';
  if (::write(progress, &byte, 1) != 1) std::_Exit(5);
  for (;;) ::pause();
}

}  // namespace

TEST_CASE("a browsing event body acknowledged under SYNC_EVERY_SECOND survives a SIGKILL",
          "[app][events][integration]") {
  constexpr int users = 500;
  temp_dir dir;
  const auto run = bidder::test::kill_after_progress(
      1, [&](int progress) { run_acknowledger(dir.db(), progress, users); });
  INFO(run.describe());
  REQUIRE(run.forked);
  REQUIRE(run.progressed);  // the body was acknowledged before the kill
  REQUIRE(run.killed());

  // Reopened, the store replays its write-ahead log: every acknowledged membership is there.
  auto store = open_store(dir.db());
  int members = 0;
  for (int i = 0; i < users; ++i) members += is_member(*store, user_key(i)) ? 1 : 0;
  CHECK(members == users);
  CHECK_FALSE(is_member(*store, user_key(users)));
}
