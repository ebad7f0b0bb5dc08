#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/audience/store.hpp"
#include "tests/support/killed_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::unix_seconds;
using bidder::audience::member;
using bidder::audience::rocksdb_store;
using bidder::audience::update_mode;

constexpr unix_seconds t0 = 1'795'305'600;  // 2026-11-22T00:00:00Z
constexpr std::size_t set_size = 20'000;

// This file's temporary directories (tests/support/temp_dir.hpp).
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-crash-test") {}
  std::string db() const { return (path / "db").string(); }
};

/// "user:<prefix>-00000" ... sorted, unique: what update_segment expects.
std::vector<member> member_set(char prefix) {
  std::vector<member> out;
  out.reserve(set_size);
  char key[32];
  for (std::size_t i = 0; i < set_size; ++i) {
    std::snprintf(key, sizeof key, "user:%c-%05zu", prefix, i);
    out.push_back({key, t0});
  }
  return out;
}

/// The child: replaces segment "s" with A, then alternates B, A, B, ... writing one byte to
/// `progress` before each update, until it is killed. Never returns.
[[noreturn]] void run_pusher(const std::string& path, int progress, const std::vector<member>& a,
                             const std::vector<member>& b) {
  auto store = rocksdb_store::open({.path = path});
  if (!store) std::_Exit(2);
  if (!(*store)->update_segment("s", update_mode::replace, 0, a, t0)) std::_Exit(3);
  for (unsigned round = 0;; ++round) {
    const char byte = 'x';
    if (::write(progress, &byte, 1) != 1) std::_Exit(4);
    const auto& next = round % 2 == 0 ? b : a;
    if (!(*store)->update_segment("s", update_mode::replace, 0, next, t0 + round + 1)) {
      std::_Exit(5);
    }
  }
}

}  // namespace

TEST_CASE("a pusher killed with SIGKILL mid-push leaves the segment exactly old or new",
          "[audience][integration]") {
  const auto a = member_set('a');
  const auto b = member_set('b');

  for (const std::size_t bytes : {std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
    CAPTURE(bytes);
    temp_dir dir;
    // Killed mid-update: the child writes its byte, then pushes.
    const auto run = bidder::test::kill_after_progress(
        bytes, [&](int progress) { run_pusher(dir.db(), progress, a, b); });
    INFO(run.describe());
    REQUIRE(run.forked);
    REQUIRE(run.progressed);
    REQUIRE(run.killed());

    auto opened = rocksdb_store::open({.path = dir.db()});
    INFO((opened ? std::string() : opened.error().message));
    REQUIRE(opened);
    auto& store = **opened;

    std::size_t in_a = 0, in_b = 0, other = 0, read_errors = 0;
    for (const auto* set : {&a, &b}) {
      for (const member& m : *set) {
        auto memberships = store.user_memberships(m.key, 0);
        if (!memberships) {
          ++read_errors;
          continue;
        }
        for (const auto& ms : *memberships) {
          if (ms.segment != "s") {
            ++other;
          } else {
            ++(set == &a ? in_a : in_b);
          }
        }
      }
    }
    CHECK(read_errors == 0);
    INFO("members of s: " << in_a << " from A, " << in_b << " from B");
    const bool exactly_a = in_a == set_size && in_b == 0;
    const bool exactly_b = in_a == 0 && in_b == set_size;
    CHECK((exactly_a || exactly_b));
    CHECK(other == 0);

    auto segments = store.segments();
    REQUIRE(segments.has_value());
    REQUIRE(segments->size() == 1);
    CHECK(segments->front().name == "s");
    CHECK(segments->front().members == set_size);
    CHECK(segments->front().exact);

    // The staging files of the interrupted push were removed at open.
    for (const auto& entry : fs::directory_iterator(dir.db())) {
      CAPTURE(entry.path().filename().string());
      CHECK_FALSE(entry.path().filename().string().starts_with("ingest-"));
    }
  }
}
