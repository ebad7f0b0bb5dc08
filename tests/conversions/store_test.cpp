#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bidder/conversions/conversion_store.hpp"
#include "bidder/conversions/touch.hpp"
#include "bidder/conversions/touch_recorder.hpp"
#include "tests/support/killed_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace bidder::conversions;
using bidder::unix_seconds;

constexpr unix_seconds t0 = 1'795'305'600;  // 2026-11-22T00:00:00Z
constexpr unix_seconds day = 86'400;

struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-conversions-test") {}
};

touch view(std::string bid, unix_seconds at, std::string campaign = "c1") {
  return {.kind = touch_kind::view,
          .at = at,
          .bid_id = std::move(bid),
          .campaign_id = std::move(campaign),
          .creative_id = "cr1",
          .exchange = "x1",
          .currency = "USD",
          .price_micros = 1'500'000,
          .arm = ""};
}

touch click(std::string bid, unix_seconds at, std::string campaign = "c1") {
  touch t = view(std::move(bid), at, std::move(campaign));
  t.kind = touch_kind::click;
  t.price_micros = 0;
  return t;
}

stored_conversion conversion(std::string key, std::string id, unix_seconds at) {
  stored_conversion c;
  c.dedup_key = std::move(key);
  c.conversion_id = std::move(id);
  c.at = at;
  return c;
}

}  // namespace

TEST_CASE("touches encode and read back; truncated bytes are refused whole",
          "[conversions][unit]") {
  std::string bytes;
  append_touch(bytes, view("b1", t0));
  append_touch(bytes, click("b2", t0 + 5, "c2"));
  std::vector<touch> out;
  REQUIRE(read_touches(bytes, out));
  CHECK(out == std::vector<touch>{view("b1", t0), click("b2", t0 + 5, "c2")});
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    std::vector<touch> partial{view("keep", t0)};
    if (!read_touches(std::string_view(bytes).substr(0, cut), partial)) {
      CHECK(partial.size() == 1);  // unchanged
    }
  }
  std::vector<touch> none;
  CHECK_FALSE(read_touches("\x07garbage", none));
}

TEST_CASE("merging touch lists keeps the newest, one per bid and kind, within the horizon",
          "[conversions][unit]") {
  std::vector<touch> all{view("b1", t0), click("b1", t0 + 10), view("b1", t0 + 1),  // a bill
                         view("b2", t0 + 20), view("old", t0 - 40 * day)};
  const auto kept = merge_touches(all, 32, 31 * day);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].bid_id == "b2");
  CHECK(kept[1].kind == touch_kind::click);
  CHECK(kept[2].bid_id == "b1");
  CHECK(kept[2].at == t0 + 1);  // the newer of the win and the bill
  // The order of operands does not matter, and the cap keeps the newest.
  std::vector<touch> reversed(all.rbegin(), all.rend());
  CHECK(merge_touches(reversed, 32, 31 * day) == kept);
  CHECK(merge_touches(all, 2, 31 * day) == std::vector<touch>{kept[0], kept[1]});
}

TEST_CASE("the store keeps touches per user and per bid, bounded, and forgets a user",
          "[conversions][unit]") {
  temp_dir dir;
  auto store = conversion_store::open({.dir = dir.path, .max_touches_per_user = 4});
  REQUIRE(store.has_value());
  std::vector<touch_write> writes;
  for (int i = 0; i < 10; ++i) {
    writes.push_back({view(std::string("b") + std::to_string(i), t0 + i), {11, 12}});
  }
  writes.push_back({click("b3", t0 + 100), {12}});
  REQUIRE((*store)->record(writes).has_value());

  auto of_11 = (*store)->touches_of_user(11);
  REQUIRE(of_11.has_value());
  REQUIRE(of_11->size() == 4);
  CHECK(of_11->front().bid_id == "b9");
  auto of_12 = (*store)->touches_of_user(12);
  REQUIRE(of_12.has_value());
  CHECK(of_12->front() == click("b3", t0 + 100));
  auto of_b3 = (*store)->touches_of_bid("b3");
  REQUIRE(of_b3.has_value());
  CHECK(*of_b3 == std::vector<touch>{click("b3", t0 + 100), view("b3", t0 + 3)});
  CHECK((*store)->touches_of_user(99)->empty());

  auto forgot = (*store)->forget_user(11);
  REQUIRE(forgot.has_value());
  CHECK(*forgot);
  CHECK((*store)->touches_of_user(11)->empty());
  CHECK((*store)->touches_of_user(12)->size() == 4);
  // A touch after the forget starts a new list.
  REQUIRE((*store)->record(std::vector<touch_write>{{view("new", t0 + 200), {11}}}).has_value());
  CHECK((*store)->touches_of_user(11)->size() == 1);
}

TEST_CASE("compaction drops touch lists past the horizon, not conversions", "[conversions][unit]") {
  temp_dir dir;
  unix_seconds now = t0;
  auto store =
      conversion_store::open({.dir = dir.path, .horizon = 31 * day, .clock = [&] { return now; }});
  REQUIRE(store.has_value());
  REQUIRE((*store)
              ->record(
                  std::vector<touch_write>{{view("b1", t0), {1}}, {view("b2", t0 + 20 * day), {2}}})
              .has_value());
  const stored_conversion c = conversion("shop.example\no1", "o1", t0);
  REQUIRE((*store)->commit(std::span(&c, 1)).has_value());
  now = t0 + 32 * day;
  REQUIRE((*store)->compact().has_value());
  CHECK((*store)->touches_of_user(1)->empty());
  CHECK((*store)->touches_of_bid("b1")->empty());
  CHECK((*store)->touches_of_user(2)->size() == 1);
  CHECK((*store)->find_conversion("shop.example\no1")->has_value());
}

TEST_CASE("committed conversions and their outbox survive a reopen; cleared entries do not return",
          "[conversions][unit]") {
  temp_dir dir;
  std::vector<stored_conversion> batch{{.dedup_key = "a.com\no1",
                                        .conversion_id = "o1",
                                        .at = t0,
                                        .rule = credit_rule::last_click,
                                        .campaign_id = "c1",
                                        .creative_id = "cr1",
                                        .bid_id = "b1",
                                        .exchange = "x1",
                                        .currency = "USD",
                                        .value_micros = 59'900'000,
                                        .touch_at = t0 - 60,
                                        .arm = "price-test/treatment"},
                                       conversion("a.com\no2", "o2", t0 + 1)};
  batch[1].currency = "EUR";
  std::vector<std::uint64_t> ids;
  {
    auto store = conversion_store::open({.dir = dir.path});
    REQUIRE(store.has_value());
    auto committed = (*store)->commit(batch);
    REQUIRE(committed.has_value());
    ids = *committed;
    REQUIRE(ids.size() == 2);
    REQUIRE((*store)->clear_outbox(std::span(ids).first(1)).has_value());
  }
  auto store = conversion_store::open({.dir = dir.path});
  REQUIRE(store.has_value());
  auto found = (*store)->find_conversion("a.com\no1");
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK(**found == batch[0]);
  auto outbox = (*store)->outbox();
  REQUIRE(outbox.has_value());
  REQUIRE(outbox->size() == 1);
  CHECK(outbox->front().first == ids[1]);
  CHECK(outbox->front().second == batch[1]);
  // New outbox ids continue after the old ones.
  auto more = (*store)->commit(std::span(batch).first(1));
  REQUIRE(more.has_value());
  CHECK(more->front() > ids[1]);
}

TEST_CASE("a process killed right after commit returns loses no conversion",
          "[conversions][crash]") {
  temp_dir dir;
  const auto run = bidder::test::kill_after_progress(1, [&](int progress) {
    auto store = conversion_store::open({.dir = dir.path});
    if (!store) std::_Exit(2);
    for (int i = 0; i < 50; ++i) {
      const stored_conversion c = conversion(std::string("a.com\no") + std::to_string(i),
                                             std::string("o") + std::to_string(i), t0 + i);
      if (!(*store)->commit(std::span(&c, 1))) std::_Exit(3);
    }
    const char byte = 'k';  // "acknowledged": the parent kills us now, without a clean close
    if (::write(progress, &byte, 1) != 1) std::_Exit(4);
    for (;;) ::pause();
  });
  INFO(run.describe());
  REQUIRE(run.forked);
  REQUIRE(run.progressed);
  REQUIRE(run.killed());
  auto store = conversion_store::open({.dir = dir.path});
  REQUIRE(store.has_value());
  for (int i = 0; i < 50; ++i) {
    auto found = (*store)->find_conversion(std::string("a.com\no") + std::to_string(i));
    REQUIRE(found.has_value());
    CHECK(found->has_value());
  }
  CHECK((*store)->outbox()->size() == 50);
}

TEST_CASE("corrupt conversion records are refused, not misread", "[conversions][unit]") {
  const std::string good = encode_conversion(conversion("k", "o", t0));
  stored_conversion out;
  CHECK(decode_conversion(good, out));
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    CHECK_FALSE(decode_conversion(std::string_view(good).substr(0, cut), out));
  }
  CHECK_FALSE(decode_conversion(good + "x", out));
}

TEST_CASE("the touch recorder writes what notice threads offer, and drops once stopped",
          "[conversions][unit]") {
  temp_dir dir;
  auto store = conversion_store::open({.dir = dir.path});
  REQUIRE(store.has_value());
  touch_recorder recorder(**store, 8);
  const std::uint64_t users[] = {5, 6};
  REQUIRE(
      recorder.offer(touch_kind::click, t0, 0, {"b1", "c1", "cr1", "x1", "USD", "", ""}, users));
  recorder.flush();
  CHECK((*store)->touches_of_user(6)->front() == click("b1", t0));
  CHECK((*store)->touches_of_bid("b1")->size() == 1);
  const std::string long_id(500, 'z');
  REQUIRE(recorder.offer(touch_kind::view, t0 + 1, 7,
                         {long_id, "c1", "cr1", "x1", "USD", "x", "arm"}, {}));
  recorder.flush();
  const auto long_touch = (*store)->touches_of_bid(long_id.substr(0, max_touch_id_bytes));
  REQUIRE(long_touch->size() == 1);
  CHECK(long_touch->front().arm == "x/arm");
  const auto stats = recorder.stats();
  CHECK(stats.offered == 2);
  CHECK(stats.recorded == 2);
  CHECK(stats.dropped == 0);
  recorder.stop();
  CHECK_FALSE(
      recorder.offer(touch_kind::view, t0, 0, {"b2", "c1", "cr1", "x1", "USD", "", ""}, users));
  CHECK(recorder.stats().dropped == 1);
}
