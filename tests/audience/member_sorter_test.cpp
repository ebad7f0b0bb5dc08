#include "bidder/audience/member_sorter.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "bidder/audience/importer.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace bidder::audience;

namespace {

// Catch cannot print a result whose value type has no operator<<: test has_value() instead.
#define REQUIRE_OK(expr) REQUIRE((expr).has_value())

// This file's temporary directories.
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-sorter") {}
};

std::vector<member> drain(member_source& source) {
  std::vector<member> out;
  member m;
  while (source.next(m)) out.push_back(m);
  return out;
}

}  // namespace

TEST_CASE("the sorter gives sorted unique members, the latest time winning, in or out of memory",
          "[audience][unit]") {
  temp_dir dir;
  const std::size_t in_memory = GENERATE(std::size_t{1000}, std::size_t{3}, std::size_t{1});
  INFO("max_in_memory " << in_memory);
  member_sorter sorter(dir.path.string(), in_memory);
  std::mt19937 rng(11);
  std::map<std::string, bidder::unix_seconds> expected;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "user:u" + std::to_string(rng() % 50);  // many repeats
    const bidder::unix_seconds seen = 1000 + static_cast<bidder::unix_seconds>(rng() % 100000);
    expected[key] = std::max(expected[key], seen);
    REQUIRE(sorter.add({key, seen}).has_value());
  }
  auto source = sorter.finish();
  REQUIRE(source.has_value());
  CHECK((*source)->size() >= expected.size());  // an upper bound until read to the end
  const auto members = drain(**source);
  CHECK((*source)->size() == expected.size());
  CHECK((*source)->failure() == nullptr);
  REQUIRE(members.size() == expected.size());
  std::size_t i = 0;
  for (const auto& [key, seen] : expected) {
    CHECK(members[i].key == key);
    CHECK(members[i].last_seen == seen);
    ++i;
  }
  CHECK(sorter.duplicates() == 200 - expected.size());
  CHECK(sorter.added() == 200);
}

TEST_CASE("a sort that would need more runs than the merge may open is refused",
          "[audience][unit]") {
  temp_dir dir;
  member_sorter sorter(dir.path.string(), 2);  // a run every 2 members
  bidder::result<void> added;
  std::size_t count = 0;
  while (count < 2 * (member_sorter::max_runs + 2)) {
    added = sorter.add({"user:u" + std::to_string(count), 1000});
    ++count;
    if (!added) break;
  }
  REQUIRE_FALSE(added.has_value());
  CHECK(added.error().code == bidder::errc::too_large);
  CHECK_THAT(added.error().message, Catch::Contains("split the file"));
  // It stops at the first run past the limit, not before.
  CHECK(count == 2 * (member_sorter::max_runs + 1));
}

TEST_CASE("a built folder ingested gives the same store as a push of the same file",
          "[audience][unit]") {
  temp_dir dir;
  const bidder::unix_seconds now = 1'795'400'000;
  std::string file;
  for (int i = 0; i < 500; ++i) file += "ifa:device-" + std::to_string(i) + "\t1795300000\n";
  file += "alice\nbob\n";
  const fs::path text = dir.path / "members.txt";
  std::ofstream(text) << file;

  auto open = [&](const std::string& name) {
    auto store = rocksdb_store::open({.path = (dir.path / name).string()});
    REQUIRE(store.has_value());
    return std::move(*store);
  };
  auto pushed = open("pushed");
  auto ingested = open("ingested");
  // Both stores start with a former member that the replace must drop.
  REQUIRE_OK(pushed->update_segment("s", update_mode::replace, 0,
                                    std::vector<member>{{"user:old", now}}, now));
  REQUIRE_OK(ingested->update_segment("s", update_mode::replace, 0,
                                      std::vector<member>{{"user:old", now}}, now));

  import_options options;
  options.segment = "s";
  options.ttl_days = 30;
  options.max_in_memory = 64;  // force the external sort
  auto push = import_segment(*pushed, options, file, now);
  REQUIRE(push.has_value());
  REQUIRE(push->applied);

  const std::string built = (dir.path / "built").string();
  auto build = build_segment({text.string()}, options, built, now);
  REQUIRE(build.has_value());
  REQUIRE(build->applied);
  CHECK(build->members == 502);
  CHECK(fs::exists(built + "/members.sst"));
  auto ingest = ingest_segment(*ingested, built, std::nullopt, now);
  REQUIRE(ingest.has_value());
  CHECK(ingest->update.written == 502);
  CHECK(ingest->update.dropped == 1);

  for (const std::string key :
       {"user:alice", "user:bob", "ifa:device-0", "ifa:device-499", "user:old", "user:nobody"}) {
    INFO(key);
    auto a = pushed->user_memberships(key, now);
    auto b = ingested->user_memberships(key, now);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    REQUIRE(a->size() == b->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      CHECK((*a)[i].segment == (*b)[i].segment);
      CHECK((*a)[i].last_seen == (*b)[i].last_seen);
      CHECK((*a)[i].expires_at == (*b)[i].expires_at);
    }
  }
  auto sa = pushed->segments();
  auto sb = ingested->segments();
  REQUIRE(sa.has_value());
  REQUIRE(sb.has_value());
  REQUIRE(sa->size() == 1);
  REQUIRE(sb->size() == 1);
  CHECK((*sa)[0].members == 502);
  CHECK((*sb)[0].members == 502);
  CHECK((*sb)[0].ttl_days == 30);
}

TEST_CASE("ingesting a damaged or foreign folder changes nothing", "[audience][unit]") {
  temp_dir dir;
  const bidder::unix_seconds now = 1'795'400'000;
  auto store = rocksdb_store::open({.path = (dir.path / "db").string()});
  REQUIRE(store.has_value());
  REQUIRE_OK((*store)->update_segment("s", update_mode::replace, 0,
                                      std::vector<member>{{"user:keep", now}}, now));
  const fs::path built = dir.path / "built";
  fs::create_directories(built);

  SECTION("no manifest") {
    auto r = ingest_segment(**store, built.string(), std::nullopt, now);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == bidder::errc::invalid_field);
  }
  SECTION("a manifest of another format") {
    std::ofstream(built / "manifest.txt") << "format=something-else\nsegment=s\n";
    REQUIRE_FALSE(ingest_segment(**store, built.string(), std::nullopt, now).has_value());
  }
  SECTION("a members file that is not an SST") {
    std::ofstream(built / "manifest.txt")
        << "format=bidder-audience-members-1\nsegment=s\nmode=replace\nmembers=1\n";
    std::ofstream(built / "members.sst") << "not an sst file at all";
    auto r = ingest_segment(**store, built.string(), std::nullopt, now);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == bidder::errc::io_error);
  }
  auto still = (*store)->user_memberships("user:keep", now);
  REQUIRE(still.has_value());
  REQUIRE(still->size() == 1);
  CHECK((*still)[0].segment == "s");
}
