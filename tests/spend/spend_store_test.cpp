#include "bidder/spend/spend_store.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "bidder/spend/keeper.hpp"
#include "bidder/spend/ledger.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::money;
using bidder::unix_seconds;
using bidder::spend::amount_from_units;
using bidder::spend::cost_of;

constexpr unix_seconds t0 = 1'750'000'000;

// This file's temporary directories.
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-spend") {}
};

bidder::spend::ledger_options small() {
  return {.reservation_ttl = 60,
          .notice_max_age = 3600,
          .notice_table_slots = 1024,
          .frequency_table_slots = 1024};
}

}  // namespace

TEST_CASE("spend, reservations, notified bids and frequency counts survive a restart",
          "[spend][store]") {
  temp_dir dir;
  const std::string path = (dir.path / "spend").string();
  const std::uint64_t bid = bidder::spend::bid_key("bid-1");
  const std::uint64_t user = bidder::spend::frequency_key(77, 88);
  {
    auto store = bidder::spend::spend_store::open({.path = path});
    REQUIRE((store).has_value());
    bidder::spend::ledger ledger(small());
    bidder::spend::account& a = ledger.open("c1");
    bidder::spend::budget b;
    b.daily = amount_from_units(10);
    bidder::spend::keeper keeper(ledger, store->get(), {});
    REQUIRE((keeper.run_once(t0, false)).has_value());
    REQUIRE(a.try_reserve(b, cost_of(money::from_units(2)), t0));
    REQUIRE(a.try_reserve(b, cost_of(money::from_units(3)), t0 + 1));
    a.charge(cost_of(money::from_units(1.5)), t0 + 1);
    a.release(cost_of(money::from_units(2)), t0);
    a.count_win();
    const auto r = ledger.bids().update(bid, t0, t0 + 1, [](std::uint64_t s) {
      return std::optional<std::uint64_t>(s | bidder::spend::bid_flags::win);
    });
    ledger.changes().add(bidder::spend::journal::bid_record{bid, r.after});
    ledger.changes().add(ledger.frequency().increment(user, t0 + 1));
    ledger.open("c2");  // an account that never spent
    REQUIRE((keeper.run_once(t0 + 2, true)).has_value());
    CHECK(keeper.writes() == 2);
  }
  // A new process: open the same directory and restore into a fresh ledger.
  auto store = bidder::spend::spend_store::open({.path = path});
  REQUIRE((store).has_value());
  auto saved = (*store)->load();
  REQUIRE((saved).has_value());
  CHECK(saved->campaigns.size() == 2);
  CHECK(saved->bids.size() == 1);
  CHECK(saved->frequency.size() == 1);
  bidder::spend::ledger ledger(small());
  bidder::spend::restore(ledger, *saved, t0 + 5);
  bidder::spend::account* a = ledger.find("c1");
  REQUIRE(a != nullptr);
  CHECK(a->spent_day(t0 + 5) == cost_of(money::from_units(1.5)));
  CHECK(a->spent_lifetime() == cost_of(money::from_units(1.5)));
  CHECK(a->reserved() == cost_of(money::from_units(3)));  // the bid still out
  CHECK(a->wins() == 1);
  CHECK(ledger.frequency().lookup(user, t0 + 5).day == 1);
  const auto replay = ledger.bids().update(bid, t0, t0 + 6, [](std::uint64_t s) {
    if ((s & bidder::spend::bid_flags::win) != 0) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(s | bidder::spend::bid_flags::win);
  });
  CHECK(replay.before == replay.after);  // the win is remembered across the restart
}

TEST_CASE("a keeper writes an account only when its state changed", "[spend][store]") {
  temp_dir dir;
  auto store = bidder::spend::spend_store::open({.path = (dir.path / "spend").string()});
  REQUIRE((store).has_value());
  bidder::spend::ledger ledger(small());
  bidder::spend::budget b;
  b.daily = amount_from_units(10);
  bidder::spend::account& busy = ledger.open("busy");
  for (int i = 0; i < 50; ++i) ledger.open("idle-" + std::to_string(i));
  bidder::spend::keeper keeper(ledger, store->get(), {});
  REQUIRE((keeper.run_once(t0, false)).has_value());
  CHECK(keeper.accounts_written() == 51);  // the first round writes every account
  REQUIRE((keeper.run_once(t0, false)).has_value());
  CHECK(keeper.accounts_written() == 51);  // nothing changed
  REQUIRE(busy.try_reserve(b, cost_of(money::from_units(2)), t0));
  REQUIRE((keeper.run_once(t0, false)).has_value());
  CHECK(keeper.accounts_written() == 52);
  busy.charge(cost_of(money::from_units(1)), t0);
  busy.release(cost_of(money::from_units(2)), t0);
  REQUIRE((keeper.run_once(t0, true)).has_value());
  CHECK(keeper.accounts_written() == 53);
  CHECK(keeper.writes() == 4);

  // What is on disk is the latest state of every account, idle ones included.
  store->reset();
  auto reopened = bidder::spend::spend_store::open({.path = (dir.path / "spend").string()});
  REQUIRE((reopened).has_value());
  auto saved = (*reopened)->load();
  REQUIRE((saved).has_value());
  CHECK(saved->campaigns.size() == 51);
  bidder::spend::ledger restored(small());
  bidder::spend::restore(restored, *saved, t0 + 1);
  REQUIRE(restored.find("busy") != nullptr);
  CHECK(restored.find("busy")->spent_day(t0 + 1) == cost_of(money::from_units(1)));
  CHECK(restored.find("busy")->reserved() == 0);
}

TEST_CASE("a keeper without a store ticks and keeps state in memory only", "[spend][store]") {
  bidder::spend::ledger ledger(small());
  bidder::spend::account& a = ledger.open("c1");
  bidder::spend::keeper keeper(ledger, nullptr, {});
  REQUIRE(a.try_reserve(bidder::spend::budget{}, 5, t0));
  REQUIRE((keeper.run_once(t0, false)).has_value());
  REQUIRE((keeper.run_once(t0 + 61, false)).has_value());
  CHECK(a.reserved() == 0);  // expired by the keeper's tick
  CHECK(keeper.writes() == 0);
}

TEST_CASE("an unopenable spend store is an io_error naming the path", "[spend][store]") {
  temp_dir dir;
  const fs::path file = dir.path / "not-a-dir";
  std::ofstream(file) << "x";
  auto store = bidder::spend::spend_store::open({.path = (file / "spend").string()});
  REQUIRE_FALSE((store).has_value());
  CHECK(store.error().code == bidder::errc::io_error);
  CHECK_THAT(store.error().message, Catch::Contains("not-a-dir"));
}
