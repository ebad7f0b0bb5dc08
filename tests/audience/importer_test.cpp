#include "bidder/audience/importer.hpp"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/audience/store.hpp"
#include "bidder/core/gzip.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::errc;
using bidder::unix_seconds;
using bidder::audience::import_options;
using bidder::audience::import_report;
using bidder::audience::import_segment;
using bidder::audience::lookup_status;
using bidder::audience::membership;
using bidder::audience::membership_view;
using bidder::audience::rocksdb_options;
using bidder::audience::rocksdb_store;
using bidder::audience::segment_info;
using bidder::audience::update_mode;

constexpr unix_seconds t0 = 1'795'305'600;  // 2026-11-22T00:00:00Z
constexpr unix_seconds hour = 3600;
constexpr unix_seconds day = 86400;

// This file's temporary directories (tests/support/temp_dir.hpp).
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-importer-test") {}
  std::string db() const { return (path / "db").string(); }
};

/// A store in a temp dir whose compaction clock is `clock`, a value the test sets.
struct fixture {
  temp_dir dir;
  unix_seconds clock = t0;
  std::unique_ptr<rocksdb_store> store;

  fixture() { reopen(); }

  void reopen() {
    store.reset();
    auto opened = rocksdb_store::open({.path = dir.db(), .clock = [this] { return clock; }});
    INFO((opened ? std::string() : opened.error().message));
    REQUIRE(opened);
    store = std::move(*opened);
  }

  /// A push that must be applied.
  import_report push(std::string_view segment, update_mode mode, std::string_view file,
                     unix_seconds now = t0, std::uint32_t ttl_days = 0) {
    import_report report = attempt(segment, mode, file, now, ttl_days);
    INFO("refusal: " << report.refusal);
    REQUIRE(report.applied);
    return report;
  }

  /// A push that may be refused; the call itself must succeed.
  import_report attempt(std::string_view segment, update_mode mode, std::string_view file,
                        unix_seconds now = t0, std::uint32_t ttl_days = 0,
                        std::size_t max_errors = 0) {
    import_options options{.segment = std::string(segment),
                           .mode = mode,
                           .ttl_days = ttl_days,
                           .max_errors = max_errors};
    auto report = import_segment(*store, options, file, now);
    INFO((report ? std::string() : report.error().message));
    REQUIRE(report.has_value());
    return *report;
  }

  /// "segment@last_seen[+expires_at]" for each stored membership (expired ones included).
  std::vector<std::string> on_disk(std::string_view key) {
    auto memberships = store->user_memberships(key, 0);
    REQUIRE(memberships.has_value());
    std::vector<std::string> out;
    for (const membership& m : *memberships) out.push_back(describe(m.segment, m));
    return out;
  }

  /// The segments of `key` as the bid path sees them at `now` (lookup()); empty when unknown.
  /// The cache is warmed first, as open() does: that a push is visible without a warm-up is
  /// checked by its own case below.
  std::vector<std::string> seen(std::string_view key, unix_seconds now = t0) {
    REQUIRE(store->warm_cache());
    std::vector<membership_view> out;
    const lookup_status status = store->lookup(key, now, out);
    INFO("lookup of " << key);
    REQUIRE(status != lookup_status::failed);
    REQUIRE(status != lookup_status::not_in_memory);
    std::vector<std::string> names;
    for (const membership_view& m : out) names.push_back(describe(m.segment, m));
    return names;
  }

  /// Every user's stored memberships, for before/after comparisons.
  std::map<std::string, std::vector<std::string>> state(const std::vector<std::string>& keys) {
    std::map<std::string, std::vector<std::string>> out;
    for (const std::string& key : keys) out[key] = on_disk(key);
    return out;
  }

  std::vector<segment_info> segments() {
    auto list = store->segments();
    REQUIRE(list.has_value());
    return *list;
  }

  segment_info segment(std::string_view name) {
    for (const segment_info& s : segments()) {
      if (s.name == name) return s;
    }
    FAIL("no segment " << name);
    return {};
  }

  template <class M>
  static std::string describe(std::string_view segment, const M& m) {
    std::string out = std::string(segment) + "@" + std::to_string(m.last_seen);
    if (m.expires_at != 0) out += "+" + std::to_string(m.expires_at);
    return out;
  }
};

std::string at(std::string_view segment, unix_seconds last_seen, unix_seconds expires_at = 0) {
  return fixture::describe(segment, membership{std::string(segment), last_seen, expires_at});
}

using strings = std::vector<std::string>;

/// Segment figures without the update time, for before/after comparisons.
std::vector<std::string> figures(const std::vector<segment_info>& list) {
  std::vector<std::string> out;
  for (const segment_info& s : list) {
    out.push_back(s.name + " members=" + std::to_string(s.members) +
                  " exact=" + std::to_string(s.exact) + " ttl=" + std::to_string(s.ttl_days) +
                  " updated=" + std::to_string(s.updated_at));
  }
  return out;
}

const update_mode all_modes[] = {update_mode::replace, update_mode::add, update_mode::remove};

const strings everyone = {"user:alice", "user:bob",  "user:carol", "user:dave",
                          "user:erin",  "ifa:phone", "user:zed"};

}  // namespace

TEST_CASE("replace makes the segment exactly the file and leaves the users' other segments",
          "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\ncarol\n");
  f.push("sports", update_mode::replace, "bob\ndave\n", t0 + 1);

  const import_report report =
      f.push("cars", update_mode::replace, "carol\t1795132800\nerin\nifa:phone\n", t0 + 2);
  CHECK(report.lines == 3);
  CHECK(report.members == 3);
  CHECK(report.rejected == 0);
  CHECK(report.update.written == 3);
  CHECK(report.update.dropped == 2);  // alice and bob left
  CHECK(report.update.members == 3);

  CHECK(f.on_disk("user:alice").empty());
  CHECK(f.on_disk("user:bob") == strings{at("sports", t0 + 1)});
  CHECK(f.on_disk("user:carol") == strings{at("cars", 1'795'132'800)});
  CHECK(f.on_disk("user:dave") == strings{at("sports", t0 + 1)});
  CHECK(f.on_disk("user:erin") == strings{at("cars", t0 + 2)});
  CHECK(f.on_disk("ifa:phone") == strings{at("cars", t0 + 2)});
  // The bid path sees the same.
  CHECK(f.seen("user:alice").empty());
  CHECK(f.seen("user:bob") == strings{at("sports", t0 + 1)});
  CHECK(f.seen("user:carol") == strings{at("cars", 1'795'132'800)});
  CHECK(f.seen("ifa:phone") == strings{at("cars", t0 + 2)});

  const auto cars = f.segment("cars");
  CHECK(cars.members == 3);
  CHECK(cars.exact);
  CHECK(cars.updated_at == t0 + 2);
  const auto sports = f.segment("sports");
  CHECK(sports.members == 2);
  CHECK(sports.updated_at == t0 + 1);

  SECTION("replacing with disjoint members drops every former one") {
    const import_report again = f.push("cars", update_mode::replace, "zed\n", t0 + 3);
    CHECK(again.update.dropped == 3);
    CHECK(again.update.members == 1);
    for (const char* gone : {"user:carol", "user:erin", "ifa:phone"}) {
      CAPTURE(gone);
      CHECK(f.on_disk(gone).empty());
    }
    CHECK(f.on_disk("user:zed") == strings{at("cars", t0 + 3)});
    CHECK(f.on_disk("user:bob") == strings{at("sports", t0 + 1)});
    CHECK(f.segment("cars").members == 1);
  }
}

TEST_CASE("add adds members and refreshes the last-seen time of members already in",
          "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\t1795132800\nbob\n");
  f.push("sports", update_mode::replace, "alice\n");
  const import_report report =
      f.push("cars", update_mode::add, "alice\ncarol\t1795132800\n", t0 + hour);
  CHECK(report.update.written == 2);
  CHECK(report.update.dropped == 0);

  CHECK(f.on_disk("user:alice") == strings{at("sports", t0), at("cars", t0 + hour)});
  CHECK(f.on_disk("user:bob") == strings{at("cars", t0)});  // untouched
  CHECK(f.on_disk("user:carol") == strings{at("cars", 1'795'132'800)});
  CHECK(f.seen("user:carol", t0 + hour) == strings{at("cars", 1'795'132'800)});
  const auto cars = f.segment("cars");
  CHECK(cars.updated_at == t0 + hour);
  CHECK(cars.exact);         // updates check who is already in the segment
  CHECK(cars.members == 3);  // alice was already in: only carol joined

  SECTION("add creates a segment that does not exist yet") {
    f.push("new-segment", update_mode::add, "dave\n");
    CHECK(f.on_disk("user:dave") == strings{at("new-segment", t0)});
    CHECK(f.segment("new-segment").members == 1);
  }
}

TEST_CASE("the members of a push are visible to lookup at once, without a cache warm-up",
          "[audience][unit]") {
  // lookup() reads with kBlockCacheTier, and update_segment() ingests SST files whose blocks
  // are not in the block cache: until something reads them with fill_cache (warm_cache(), a
  // restart, GET /admin/users), the bid path gets not_in_memory for every pushed user.
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  std::vector<membership_view> out;
  CHECK(f.store->lookup("user:alice", t0, out) == lookup_status::found);
  CHECK(f.store->lookup("user:bob", t0, out) == lookup_status::found);
  CHECK(out.size() == 2);
  f.push("cars", update_mode::add, "carol\n", t0 + 1);
  out.clear();
  CHECK(f.store->lookup("user:carol", t0, out) == lookup_status::found);
  CHECK(out.size() == 1);
  REQUIRE(f.store->compact());  // compaction output is not in the cache either
  out.clear();
  CHECK(f.store->lookup("user:alice", t0, out) == lookup_status::found);
  CHECK(out.size() == 1);
}

TEST_CASE("remove takes the listed members out and leaves the others", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\ncarol\n");
  f.push("sports", update_mode::replace, "alice\n");
  const import_report report = f.push("cars", update_mode::remove, "alice\nbob\nnever-in\n");
  CHECK(report.update.written == 2);  // never-in was not a member: nothing to remove

  CHECK(f.on_disk("user:alice") == strings{at("sports", t0)});
  CHECK(f.on_disk("user:bob").empty());
  CHECK(f.on_disk("user:carol") == strings{at("cars", t0)});
  CHECK(f.on_disk("user:never-in").empty());
  CHECK(f.seen("user:alice") == strings{at("sports", t0)});
  CHECK(f.seen("user:bob").empty());
  CHECK(f.segment("cars").exact);
  CHECK(f.segment("cars").members == 1);  // carol
}

TEST_CASE("remove on an unknown segment is not_found and changes nothing", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  const auto before = f.state(everyone);
  const auto segments_before = figures(f.segments());

  auto r = import_segment(*f.store, {.segment = "no-such-segment", .mode = update_mode::remove},
                          "alice\n", t0 + 1);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::not_found);
  CHECK_THAT(r.error().message, Catch::Contains("no-such-segment"));
  CHECK(f.state(everyone) == before);
  CHECK(figures(f.segments()) == segments_before);
}

TEST_CASE("a bad segment name is invalid_field and changes nothing", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\n");
  const auto before = f.state(everyone);
  for (const std::string& name :
       strings{"", "has space", "slash/inside", "caf\xC3\xA9", std::string(129, 'x')}) {
    CAPTURE(name);
    auto r = import_segment(*f.store, {.segment = name}, "bob\n", t0);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_field);
    CHECK(f.state(everyone) == before);
    CHECK(f.segments().size() == 1);
  }
}

TEST_CASE("duplicate ids keep the latest last-seen and are counted", "[audience][unit]") {
  fixture f;
  const import_report report = f.push("cars", update_mode::replace,
                                      "alice\t1795132800\n"
                                      "alice\t1795168800\n"  // the latest
                                      "user:alice\t1795140000\n"
                                      "bob\n"
                                      "ifa:bob\t1795132800\n"  // another key
                                      "bob\t1795132800\n");
  CHECK(report.lines == 6);
  CHECK(report.members == 3);
  CHECK(report.duplicates == 3);
  CHECK(report.update.written == 3);
  CHECK(f.on_disk("user:alice") == strings{at("cars", 1'795'168'800)});
  CHECK(f.on_disk("user:bob") == strings{at("cars", t0)});
  CHECK(f.on_disk("ifa:bob") == strings{at("cars", 1'795'132'800)});
  CHECK(f.segment("cars").members == 3);
}

TEST_CASE("a push with more bad lines than max_errors is refused and changes nothing",
          "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  f.push("sports", update_mode::replace, "bob\ncarol\n");
  const auto before = f.state(everyone);
  const auto segments_before = figures(f.segments());

  const std::string bad_file = "dave\nhas space\nerin\nlate\t9999999999\nzed\n";
  for (const update_mode mode : all_modes) {
    for (const std::size_t max_errors : {std::size_t{0}, std::size_t{1}}) {
      CAPTURE(bidder::audience::to_string(mode), max_errors);
      const import_report report = f.attempt("cars", mode, bad_file, t0 + 1, 0, max_errors);
      CHECK_FALSE(report.applied);
      CHECK_THAT(report.refusal, Catch::Contains("nothing was applied"));
      CHECK(report.rejected == 2);
      CHECK(report.lines == 5);
      REQUIRE(report.errors.size() == 2);
      CHECK(report.errors[0].line == 2);
      CHECK(report.errors[1].line == 4);
      CHECK(f.state(everyone) == before);
      CHECK(figures(f.segments()) == segments_before);
    }
  }
  CHECK(f.seen("user:dave").empty());
  CHECK(f.seen("user:alice") == strings{at("cars", t0)});
}

TEST_CASE("with max_errors a push applies its good lines and lists the bad ones",
          "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\n");
  const import_report report = f.attempt("cars", update_mode::replace,
                                         "bob\nhas space\ncarol\nlate\t9999999999\n", t0 + 1, 0, 2);
  REQUIRE(report.applied);
  CHECK(report.refusal.empty());
  CHECK(report.rejected == 2);
  CHECK(report.members == 2);
  REQUIRE(report.errors.size() == 2);
  CHECK(report.errors[0].line == 2);
  CHECK_THAT(report.errors[0].reason, Catch::Contains("space"));
  CHECK(report.errors[1].line == 4);
  CHECK_THAT(report.errors[1].reason, Catch::Contains("future"));
  CHECK(f.on_disk("user:alice").empty());
  CHECK(f.on_disk("user:bob") == strings{at("cars", t0 + 1)});
  CHECK(f.on_disk("user:carol") == strings{at("cars", t0 + 1)});
  CHECK(f.segment("cars").members == 2);

  SECTION("only the first 100 bad lines are listed, all are counted") {
    std::string file = "ok\n";
    for (int i = 0; i < 150; ++i) file += "bad line\n";
    const import_report many = f.attempt("cars", update_mode::add, file, t0 + 2, 0, 150);
    CHECK(many.applied);
    CHECK(many.rejected == 150);
    CHECK(many.errors.size() == bidder::audience::max_listed_errors);
    CHECK(many.errors.back().line == 101);
  }
}

TEST_CASE("an empty file is refused and changes nothing", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  const auto before = f.state(everyone);
  const auto segments_before = figures(f.segments());
  for (const std::string& file :
       strings{"", "\n\n", "# only a comment\n", "\xEF\xBB\xBF", "id,last_seen\n"}) {
    for (const update_mode mode : all_modes) {
      CAPTURE(file, bidder::audience::to_string(mode));
      const import_report report = f.attempt("cars", mode, file, t0 + 1);
      CHECK_FALSE(report.applied);
      CHECK_THAT(report.refusal, Catch::Contains("no members"));
      CHECK(report.members == 0);
      CHECK(f.state(everyone) == before);
      CHECK(figures(f.segments()) == segments_before);
    }
  }
}

TEST_CASE("a gzip file is read like the plain file", "[audience][unit]") {
  fixture f;
  std::string plain = "# gzip\nalice\t1795132800\nifa:phone\n";
  for (int i = 0; i < 3000; ++i) plain += "user-" + std::to_string(i) + "\n";
  std::string compressed;
  bidder::gzip(plain, compressed);
  REQUIRE(bidder::looks_gzipped(compressed));
  const import_report report = f.push("cars", update_mode::replace, compressed);
  CHECK(report.lines == 3003);
  CHECK(report.members == 3002);
  CHECK(report.rejected == 0);
  CHECK(f.on_disk("user:alice") == strings{at("cars", 1'795'132'800)});
  CHECK(f.on_disk("ifa:phone") == strings{at("cars", t0)});
  CHECK(f.on_disk("user:user-2999") == strings{at("cars", t0)});
  CHECK(f.segment("cars").members == 3002);
}

TEST_CASE("a push fed in pieces as they arrive equals the whole file, plain or gzip",
          "[audience][unit]") {
  fixture f;
  std::string plain = "alice\t1795132800\nifa:phone\n";
  for (int i = 0; i < 3000; ++i) plain += "user-" + std::to_string(i) + "\n";
  std::string compressed;
  bidder::gzip(plain, compressed);
  const bool gzipped = GENERATE(false, true);
  const std::size_t piece = GENERATE(std::size_t{1}, std::size_t{3}, std::size_t{4096});
  INFO("gzip " << gzipped << ", piece " << piece);
  const std::string& file = gzipped ? compressed : plain;
  // A small in-memory bound, so the pieces also cross sort runs.
  const import_options options{.segment = "cars", .max_in_memory = 500};
  auto push = bidder::audience::push_stream::open(*f.store, options, t0);
  REQUIRE(push.has_value());
  for (std::size_t at = 0; at < file.size(); at += piece) {
    (*push)->feed(std::string_view(file).substr(at, piece));
  }
  CHECK_FALSE((*push)->refused());
  auto report = (*push)->finish();
  REQUIRE(report.has_value());
  CHECK(report->applied);
  CHECK(report->lines == 3002);
  CHECK(report->members == 3002);
  CHECK(f.on_disk("user:alice") == strings{at("cars", 1'795'132'800)});
  CHECK(f.on_disk("user:user-2999") == strings{at("cars", t0)});
  CHECK(f.segment("cars").members == 3002);
}

TEST_CASE("a push dropped before its end (a cut upload) changes nothing and leaves no files",
          "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  const auto before = f.state(everyone);
  const auto segments_before = figures(f.segments());
  temp_dir sort_parent;
  const fs::path parent = fs::path(sort_parent.db()).parent_path();
  {
    const import_options options{
        .segment = "cars", .temp_dir = parent.string(), .max_in_memory = 100};
    auto push = bidder::audience::push_stream::open(*f.store, options, t0 + 1);
    REQUIRE(push.has_value());
    for (int i = 0; i < 1000; ++i) (*push)->feed("carol-" + std::to_string(i) + "\n");
    CHECK(std::distance(fs::directory_iterator(parent), fs::directory_iterator()) == 1);
  }  // dropped without finish()
  CHECK(f.state(everyone) == before);
  CHECK(figures(f.segments()) == segments_before);
  CHECK(f.on_disk("user:carol-0").empty());
  CHECK(fs::is_empty(parent));  // the sort's runs are gone
}

TEST_CASE("a corrupt gzip file is refused and changes nothing", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  const auto before = f.state(everyone);
  const auto segments_before = figures(f.segments());

  std::string plain;
  for (int i = 0; i < 3000; ++i) plain += "user-" + std::to_string(i) + "\n";
  plain += "carol\n";
  std::string compressed;
  bidder::gzip(plain, compressed);
  std::string flipped = compressed;  // a flipped byte in the deflate data
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  std::string wrong_crc = compressed;
  wrong_crc[wrong_crc.size() - 8] = static_cast<char>(wrong_crc[wrong_crc.size() - 8] ^ 0x01);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", compressed.substr(0, compressed.size() - 8)},
      {"a flipped byte in the middle", flipped},
      {"a wrong CRC", wrong_crc},
      {"only the magic number", "\x1f\x8b"},
      {"trailing garbage", compressed + "garbage"},
  };
  for (const auto& [name, corrupt] : cases) {
    CAPTURE(name);
    const import_report report = f.attempt("cars", update_mode::replace, corrupt, t0 + 1);
    CHECK_FALSE(report.applied);
    CHECK_THAT(report.refusal, Catch::Contains("gzip"));
    CHECK(f.state(everyone) == before);
    CHECK(f.on_disk("user:user-0").empty());
    CHECK(figures(f.segments()) == segments_before);
  }
}

TEST_CASE("pushing the same file twice gives the same look-ups and counts", "[audience][unit]") {
  fixture f;
  const std::string file =
      "alice\t1795132800\nbob\nifa:phone\t2026-11-21T10:00:00Z\nalice\t1795000000\n";
  const strings keys = {"user:alice", "user:bob", "ifa:phone", "user:carol"};
  f.push("sports", update_mode::replace, "bob\ncarol\n");
  const update_mode mode = GENERATE(update_mode::replace, update_mode::add);
  CAPTURE(bidder::audience::to_string(mode));

  const import_report first = f.push("cars", mode, file, t0 + 5, 30);
  const auto state_first = f.state(keys);
  std::map<std::string, strings> seen_first;
  for (const auto& k : keys) seen_first[k] = f.seen(k, t0 + 5);
  const import_report second = f.push("cars", mode, file, t0 + 5, 30);

  CHECK(f.state(keys) == state_first);
  for (const auto& k : keys) {
    CAPTURE(k);
    CHECK(f.seen(k, t0 + 5) == seen_first[k]);
  }
  CHECK(second.lines == first.lines);
  CHECK(second.members == first.members);
  CHECK(second.duplicates == first.duplicates);
  CHECK(second.rejected == first.rejected);
  CHECK(second.update.written == first.update.written);
  CHECK(first.duplicates == 1);
  CHECK(first.members == 3);
  if (mode == update_mode::replace) {
    CHECK(second.update.dropped == first.update.dropped);
    CHECK(second.update.members == first.update.members);
    CHECK(f.segment("cars").members == 3);
    CHECK(f.segment("cars").exact);
  }
  CHECK(f.on_disk("user:alice") == strings{at("cars", 1'795'132'800, 1'795'132'800 + 30 * day)});
}

TEST_CASE("adding the same file twice keeps the segment's member count", "[audience][unit]") {
  // update_segment adds members.size() to the count on every add without looking the members
  // up, so re-adding the same file doubles the figure GET /admin/audiences shows.
  fixture f;
  f.push("cars", update_mode::add, "alice\nbob\n");
  const auto once = f.segment("cars");
  f.push("cars", update_mode::add, "alice\nbob\n");
  const auto twice = f.segment("cars");
  CHECK(once.members == 2);
  CHECK(twice.members == once.members);
}

TEST_CASE("expired memberships are invisible at once and leave the disk at compaction",
          "[audience][unit]") {
  fixture f;
  const unix_seconds two_days_ago = t0 - 2 * day;
  f.push("sports", update_mode::replace, "both\n");
  const import_report report =
      f.push("cars", update_mode::replace,
             "old\t" + std::to_string(two_days_ago) + "\nboth\t" + std::to_string(two_days_ago) +
                 "\nfresh\t" + std::to_string(t0 - hour) + "\n",
             t0, 1);
  CHECK(report.update.written == 3);
  CHECK(f.segment("cars").ttl_days == 1);

  // Expired one day after last seen: invisible to look-ups at t0 ...
  CHECK(f.seen("user:old", t0).empty());
  CHECK(f.seen("user:both", t0) == strings{at("sports", t0)});
  CHECK(f.seen("user:fresh", t0) == strings{at("cars", t0 - hour, t0 - hour + day)});
  auto visible = f.store->user_memberships("user:old", t0);
  REQUIRE(visible.has_value());
  CHECK(visible->empty());
  // ... but still on disk until a compaction.
  CHECK(f.on_disk("user:old") == strings{at("cars", two_days_ago, two_days_ago + day)});
  CHECK(f.seen("user:old", two_days_ago + day - 1) ==
        strings{at("cars", two_days_ago, two_days_ago + day)});

  REQUIRE(f.store->compact());
  std::vector<membership_view> out;
  CHECK(f.store->lookup("user:old", 0, out) == lookup_status::not_found);  // the key is gone
  CHECK(out.empty());
  CHECK(f.on_disk("user:old").empty());
  CHECK(f.on_disk("user:both") == strings{at("sports", t0)});
  CHECK(f.on_disk("user:fresh") == strings{at("cars", t0 - hour, t0 - hour + day)});

  SECTION("the compaction uses the injected clock") {
    f.clock = t0 + 2 * day;
    REQUIRE(f.store->compact());
    CHECK(f.store->lookup("user:fresh", 0, out) == lookup_status::not_found);
    CHECK(f.on_disk("user:both") == strings{at("sports", t0)});
  }
  SECTION("a clock before the expiry keeps the membership") {
    f.clock = t0 - 2 * day;
    REQUIRE(f.store->compact());
    CHECK(f.on_disk("user:fresh") == strings{at("cars", t0 - hour, t0 - hour + day)});
  }
}

TEST_CASE("the segment's TTL is kept for later pushes without one", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\n", t0, 7);
  f.push("cars", update_mode::add, "bob\n", t0 + 1);
  CHECK(f.segment("cars").ttl_days == 7);
  CHECK(f.on_disk("user:alice") == strings{at("cars", t0, t0 + 7 * day)});
  CHECK(f.on_disk("user:bob") == strings{at("cars", t0 + 1, t0 + 1 + 7 * day)});
  f.push("cars", update_mode::add, "carol\n", t0 + 2, 2);
  CHECK(f.segment("cars").ttl_days == 2);
  CHECK(f.on_disk("user:carol") == strings{at("cars", t0 + 2, t0 + 2 + 2 * day)});
  f.push("sports", update_mode::replace, "alice\n");
  CHECK(f.segment("sports").ttl_days == 0);
  CHECK(f.on_disk("user:alice") == strings{at("cars", t0, t0 + 7 * day), at("sports", t0)});
}

TEST_CASE("forget_user removes a user from every segment at once", "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  f.push("sports", update_mode::replace, "alice\ncarol\n");
  REQUIRE(f.store->write_user("ifa:phone", std::vector<membership>{{"demo", t0}}));

  auto forgotten = f.store->forget_user("user:alice");
  REQUIRE(forgotten);
  CHECK(*forgotten);
  CHECK(f.on_disk("user:alice").empty());
  CHECK(f.seen("user:alice").empty());
  std::vector<membership_view> out;
  CHECK(f.store->lookup("user:alice", t0, out) == lookup_status::not_found);
  CHECK(f.on_disk("user:bob") == strings{at("cars", t0)});
  CHECK(f.on_disk("user:carol") == strings{at("sports", t0)});

  auto written = f.store->forget_user("ifa:phone");  // written with write_user
  REQUIRE(written);
  CHECK(*written);
  CHECK(f.on_disk("ifa:phone").empty());

  auto again = f.store->forget_user("user:alice");
  REQUIRE(again);
  CHECK_FALSE(*again);
  auto unknown = f.store->forget_user("user:nobody");
  REQUIRE(unknown);
  CHECK_FALSE(*unknown);

  SECTION("a forgotten user stays gone after compaction and reopening") {
    REQUIRE(f.store->compact());
    f.reopen();
    CHECK(f.store->lookup("user:alice", 0, out) == lookup_status::not_found);
    CHECK(f.on_disk("user:bob") == strings{at("cars", t0)});
  }
  SECTION("a later push brings the user back only if the file lists them") {
    f.push("cars", update_mode::replace, "bob\n", t0 + 1);
    CHECK(f.on_disk("user:alice").empty());
    f.push("cars", update_mode::add, "alice\n", t0 + 2);
    CHECK(f.on_disk("user:alice") == strings{at("cars", t0 + 2)});
  }
}

TEST_CASE("forgetting a member keeps the segment's exact member count right", "[audience][unit]") {
  // forget_user deletes the user's key but leaves the "segments" figures alone, so after a
  // replace the segment still claims an exact count that includes the forgotten user.
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\ncarol\n");
  REQUIRE(f.store->forget_user("user:alice"));
  const auto cars = f.segment("cars");
  CHECK((cars.members == 2 || !cars.exact));
}

TEST_CASE("segments lists every segment with its figures, sorted by name", "[audience][unit]") {
  fixture f;
  CHECK(f.segments().empty());
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "ifa:device-" + std::to_string(i) + "\n";
  f.push("zebra", update_mode::replace, many, t0 + 10, 30);
  f.push("apple", update_mode::replace, "alice\nbob\n", t0 + 20);
  f.push("mango", update_mode::add, "alice\n", t0 + 30, 3);

  const auto list = f.segments();
  REQUIRE(list.size() == 3);
  CHECK(list[0].name == "apple");
  CHECK(list[0].members == 2);
  CHECK(list[0].exact);
  CHECK(list[0].updated_at == t0 + 20);
  CHECK(list[0].ttl_days == 0);
  CHECK(list[1].name == "mango");
  CHECK(list[1].members == 1);
  CHECK(list[1].ttl_days == 3);
  CHECK(list[1].updated_at == t0 + 30);
  CHECK(list[2].name == "zebra");
  CHECK(list[2].members == 1000);
  CHECK(list[2].exact);
  CHECK(list[2].ttl_days == 30);
  CHECK(list[2].updated_at == t0 + 10);

  f.push("zebra", update_mode::replace, "ifa:device-1\nifa:device-2000\n", t0 + 40);
  const auto zebra = f.segment("zebra");
  CHECK(zebra.members == 2);
  CHECK(zebra.exact);
  CHECK(zebra.ttl_days == 30);  // kept
  CHECK(zebra.updated_at == t0 + 40);
}

TEST_CASE("look-ups after reopening the store match the ones before", "[audience][unit]") {
  fixture f;
  std::string file;
  strings keys;
  for (int i = 0; i < 500; ++i) {
    file += "ifa:d-" + std::to_string(i) + "\t" + std::to_string(t0 - i) + "\n";
    keys.push_back("ifa:d-" + std::to_string(i));
  }
  f.push("cars", update_mode::replace, file, t0, 10);
  f.push("sports", update_mode::replace, "ifa:d-1\nifa:d-2\nalice\n");
  f.push("cars", update_mode::remove, "ifa:d-3\n");
  REQUIRE(f.store->forget_user("ifa:d-4"));
  keys.push_back("user:alice");
  keys.push_back("user:nobody");

  std::map<std::string, strings> before;
  for (const auto& k : keys) before[k] = f.seen(k);
  const auto segments_before = figures(f.segments());
  CHECK(before["ifa:d-1"] == strings{at("cars", t0 - 1, t0 - 1 + 10 * day), at("sports", t0)});
  CHECK(before["ifa:d-3"].empty());
  CHECK(before["ifa:d-4"].empty());

  f.reopen();
  for (const auto& k : keys) {
    CAPTURE(k);
    CHECK(f.seen(k) == before[k]);
  }
  CHECK(figures(f.segments()) == segments_before);
}

TEST_CASE("a push with more bad lines than allowed is refused as soon as it has them",
          "[audience][unit]") {
  fixture f;
  f.push("cars", update_mode::replace, "alice\nbob\n");
  const auto before = f.state(everyone);
  const import_options options{.segment = "cars", .max_errors = 1};
  auto push = bidder::audience::push_stream::open(*f.store, options, t0 + 1);
  REQUIRE(push.has_value());
  (*push)->feed("carol\nbad id with spaces\n");
  CHECK_FALSE((*push)->refused());                    // one bad line is allowed
  (*push)->feed("dave\nanother bad one\nerin\nfra");  // the upload stops inside "fra..."
  CHECK((*push)->refused());
  auto report = (*push)->finish(bidder::audience::push_stream::ending::stopped);
  REQUIRE(report.has_value());
  CHECK_FALSE(report->applied);
  CHECK(report->lines == 5);  // the cut line is not read
  CHECK(report->rejected == 2);
  CHECK(report->errors.size() == 2);
  CHECK_THAT(report->refusal, Catch::Contains("2 bad line(s)") &&
                                  Catch::Contains("in the first 5 lines") &&
                                  Catch::Contains("stopped"));
  CHECK(f.state(everyone) == before);
}
