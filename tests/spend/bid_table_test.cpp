#include "bidder/spend/bid_table.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <optional>
#include <thread>
#include <vector>

namespace {

using bidder::unix_seconds;
using bidder::spend::bid_key;
using bidder::spend::bid_table;
namespace flags = bidder::spend::bid_flags;

constexpr unix_seconds t0 = 1'750'000'000;

// Sets `bit` once: nullopt (no change) when it is already set.
auto set(std::uint64_t bit) {
  return [bit](std::uint64_t s) -> std::optional<std::uint64_t> {
    if ((s & bit) != 0) return std::nullopt;
    return s | bit;
  };
}

}  // namespace

TEST_CASE("a bid's state changes once per kind and remembers its issue time", "[spend][unit]") {
  bid_table table(1024, 3600);
  const auto first = table.update(bid_key("b1"), t0, t0 + 1, set(flags::win));
  CHECK(first.remembered);
  CHECK(first.before == bidder::spend::fresh_state(t0));
  CHECK(bidder::spend::flags_of(first.after) == flags::win);
  CHECK(bidder::spend::issued_of(first.after) == t0);
  const auto again = table.update(bid_key("b1"), t0, t0 + 2, set(flags::win));
  CHECK(again.before == again.after);  // a replay changes nothing
  const auto bill = table.update(bid_key("b1"), t0, t0 + 3, set(flags::bill));
  CHECK(bidder::spend::flags_of(bill.after) == (flags::win | flags::bill));
  const auto other = table.update(bid_key("b2"), t0, t0 + 3, set(flags::win));
  CHECK(other.before != other.after);
}

TEST_CASE("the win delay packs into the state", "[spend][unit]") {
  using bidder::spend::win_delay_of;
  using bidder::spend::with_win_delay;
  const std::uint64_t s = bidder::spend::fresh_state(t0) | flags::win;
  CHECK(win_delay_of(with_win_delay(s, 42)) == 42);
  CHECK(win_delay_of(with_win_delay(s, 1 << 20)) == 0xffff);
  CHECK(bidder::spend::flags_of(with_win_delay(s, 42)) == flags::win);
  CHECK(bidder::spend::issued_of(with_win_delay(s, 42)) == t0);
}

TEST_CASE("slots of bids past the max age are reused, and a full bucket applies but forgets",
          "[spend][unit]") {
  bid_table table(8, 100);  // one bucket of eight
  for (int i = 0; i < 8; ++i) {
    REQUIRE(table.update(bid_key("b" + std::to_string(i)), t0, t0, set(flags::win)).remembered);
  }
  const auto full = table.update(bid_key("late"), t0, t0, set(flags::win));
  CHECK_FALSE(full.remembered);
  CHECK(bidder::spend::flags_of(full.after) == flags::win);  // applied all the same
  CHECK(table.full() == 1);
  // Once the eight are past the max age (plus a minute), their slots are free again.
  const unix_seconds later = t0 + 100 + 61;
  const auto reused = table.update(bid_key("new"), later, later, set(flags::win));
  CHECK(reused.remembered);
  CHECK(reused.before == bidder::spend::fresh_state(later));
}

TEST_CASE("of many threads applying the same notice, exactly one sees the change",
          "[spend][unit][concurrency]") {
  bid_table table(1 << 12, 3600);
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> changed{0};
    const std::string id = "bid-" + std::to_string(round);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        const auto r = table.update(bid_key(id), t0, t0, set(flags::win));
        if (r.before != r.after) changed.fetch_add(1);
      });
    }
    for (auto& th : threads) th.join();
    REQUIRE(changed.load() == 1);
  }
}

TEST_CASE("restored states are remembered unless past the max age", "[spend][unit]") {
  bid_table table(1024, 3600);
  table.restore(bid_key("b1"), bidder::spend::fresh_state(t0) | flags::win, t0 + 10);
  table.restore(bid_key("old"), bidder::spend::fresh_state(t0 - 4000) | flags::win, t0 + 10);
  const auto r = table.update(bid_key("b1"), t0, t0 + 11, set(flags::win));
  CHECK(r.before == r.after);  // a replay of a notice applied before the restart
  const auto o = table.update(bid_key("old"), t0 - 4000, t0 + 11, set(flags::win));
  CHECK(o.before != o.after);
}
