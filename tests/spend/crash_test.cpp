// A bidder killed with SIGKILL in the middle of a burst of bids and wins: the spend store must
// reopen cleanly, hold exactly the state of one of its writes (never half a batch), and the
// restored spend plus reservations must keep the campaign within its budget, give or take what
// the crash bound in docs/notices-and-spend.md allows: the bids made and wins accepted since the
// last write.
//
// The child plays the bidder: bids reserve against the budget, each bid wins `win_lag` bids
// later at its bid price (the worst case for spend), and the keeper writes every
// `ops_per_write` operations, as its thread does every 100 ms. The parent drives the child one
// operation at a time through a pipe and kills it just after letting operation `kill_at` start,
// so the kill lands anywhere inside that operation, including inside a RocksDB write. The parent
// replays the same deterministic script in memory to know every state the child could have
// written, then plays the exchange after the restart: it sends the wins of every bid still out
// (never the wins it already sent), lets the reservations expire, and bids until the budget
// stops it.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "bidder/spend/keeper.hpp"
#include "bidder/spend/ledger.hpp"
#include "bidder/spend/spend_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::money;
using bidder::unix_seconds;
using namespace bidder::spend;

constexpr unix_seconds t0 = 1'795'309'200;  // 2026-11-22T01:00:00Z
constexpr int ops_per_second = 20;          // the script's clock: 20 operations a second
constexpr int win_lag = 8;                  // bid i wins during operation i + win_lag
constexpr int ops_per_write = 5;            // the keeper writes after every 5th operation
constexpr int bids_in_budget = 100;
const amount bid_cost = cost_of(money::from_units(2.0));  // one impression at a 2.00 CPM

unix_seconds time_of(int op) { return t0 + op / ops_per_second; }

ledger_options small_tables() {
  return {.reservation_ttl = 60,
          .notice_max_age = 3600,
          .notice_table_slots = 4096,
          .frequency_table_slots = 1024};
}

budget the_budget() {
  budget b;
  b.daily = bid_cost * bids_in_budget;
  return b;
}

std::uint64_t key_of(int bid) { return bid_key("bid-" + std::to_string(bid)); }

/// A win notice counted on WIN, as engine::notice_processor applies it: once per bid (the bid
/// table), charge the clearing price, release the bid's reservation, journal the bid's state.
void apply_win(ledger& l, account& a, int bid, unix_seconds issued, unix_seconds now) {
  const auto u = l.bids().update(key_of(bid), issued, now, [](std::uint64_t s) {
    if ((flags_of(s) & bid_flags::win) != 0) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(s | bid_flags::win | bid_flags::released);
  });
  if (u.before == u.after) return;  // a replay
  a.count_win();
  a.charge(bid_cost, now);
  a.release(bid_cost, issued);
  if (u.remembered) l.changes().add(journal::bid_record{key_of(bid), u.after});
}

/// The deterministic script the child runs and the parent replays.
struct script {
  ledger spend{small_tables()};
  account& campaign = spend.open("c1");
  keeper writer;
  std::vector<bool> made;  // made[i]: operation i made a bid
  int ops = 0;

  explicit script(spend_store* store) : writer(spend, store, {}) {
    spend.set_budgets({{&campaign, the_budget()}});
  }
  /// Before the first operation: a first write (ticks, so budgets can be checked).
  [[nodiscard]] bool begin() { return writer.run_once(time_of(0), false).has_value(); }
  /// One operation: a bid, then the win of the bid made win_lag operations ago, then (every
  /// ops_per_write operations) a write. False when the write failed.
  [[nodiscard]] bool step() {
    const int i = ++ops;
    const unix_seconds now = time_of(i);
    made.push_back(campaign.try_reserve(the_budget(), bid_cost, now));
    if (const int j = i - win_lag; j >= 1 && made[j - 1]) {
      apply_win(spend, campaign, j, time_of(j), now);
    }
    if (i % ops_per_write == 0) return writer.run_once(now, false).has_value();
    return true;
  }
  bool bid_made(int op) const { return op >= 1 && op <= ops && made[op - 1]; }
};

/// What a write holds of the account, to tell which write the store came back with.
struct written {
  int op = 0;  // the write after this operation (0: the first, before any)
  amount spent = 0;
  amount reserved = 0;
  std::uint64_t wins = 0;
};

// This file's temporary directories (tests/support/temp_dir.hpp).
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-spend-crash") {}
  std::string db() const { return (path / "spend").string(); }
};

/// The child: opens the store, then runs one operation per byte read from `go`, writing one
/// byte to `done` after each. Never returns; killed by the parent.
[[noreturn]] void run_bidder(const std::string& path, int go, int done) {
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE}) std::signal(sig, SIG_DFL);
  ::alarm(60);  // a hang closes the pipe and fails the parent's read
  auto store = spend_store::open({.path = path, .clock = [] { return time_of(0); }});
  if (!store) std::_Exit(2);
  script s(store->get());
  if (!s.begin()) std::_Exit(3);
  const char ready = 'r';
  if (::write(done, &ready, 1) != 1) std::_Exit(4);
  for (;;) {
    char byte = 0;
    if (::read(go, &byte, 1) != 1) std::_Exit(5);
    if (!s.step()) std::_Exit(6);
    if (::write(done, &byte, 1) != 1) std::_Exit(7);
  }
}

// How the parent hands the child its database and pipes across exec.
constexpr const char* child_case_name = "spend crash child: a bidder process to be killed";
constexpr const char* child_db_variable = "BIDDER_SPEND_CRASH_DB";
constexpr int child_go_fd = 100;
constexpr int child_done_fd = 101;

bool read_byte(int fd) {
  char byte = 0;
  return ::read(fd, &byte, 1) == 1;
}

}  // namespace

TEST_CASE("after kill -9 during a burst of wins the spend state reopens and cannot overspend",
          "[spend][crash]") {
  // Kill points: just after a write, between writes, while a write may be in progress, near and
  // after the end of the budget.
  const int kill_at = GENERATE(1, 13, 16, 20, 47, 50, 98, 104, 130);
  CAPTURE(kill_at);

  // Every state a write of the script can hold, and whether each operation made a bid.
  script reference(nullptr);
  REQUIRE(reference.begin());
  std::vector<written> writes{{0, 0, 0, 0}};
  for (int op = 1; op <= kill_at; ++op) {
    REQUIRE(reference.step());
    if (op % ops_per_write == 0) {
      writes.push_back({op, reference.campaign.spent_lifetime(), reference.campaign.reserved(),
                        reference.campaign.wins()});
    }
  }

  temp_dir dir;
  std::array<int, 2> go{}, done{};
  REQUIRE(::pipe(go.data()) == 0);
  REQUIRE(::pipe(done.data()) == 0);
  // The child is this test executable run afresh (fork + exec), not a bare fork: this process
  // already runs RocksDB's background threads (an earlier case, or the restore below), and a
  // child forked from a multi-threaded process may find their locks held forever (TSan
  // refuses it outright). Everything exec needs is made before the fork.
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string env = std::string(child_db_variable) + "=" + dir.db();
  char* const argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>(child_case_name),
                        nullptr};
  char* const envp[] = {const_cast<char*>(env.c_str()), nullptr};
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::dup2(go[0], child_go_fd) < 0 || ::dup2(done[1], child_done_fd) < 0) ::_exit(126);
    ::execve(self.c_str(), argv, envp);
    ::_exit(127);
  }
  ::close(go[0]);
  ::close(done[1]);
  REQUIRE(read_byte(done[0]));  // the store is open
  const char byte = 'g';
  for (int op = 1; op < kill_at; ++op) {
    REQUIRE(::write(go[1], &byte, 1) == 1);
    REQUIRE(read_byte(done[0]));
  }
  REQUIRE(::write(go[1], &byte, 1) == 1);  // operation kill_at starts...
  ::kill(child, SIGKILL);                  // ...and the process dies somewhere in it
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ::close(go[1]);
  ::close(done[0]);
  INFO("child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", signal "
                            << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);

  // The restart: the store reopens, and holds exactly one of the script's writes.
  const unix_seconds restart = time_of(kill_at);
  auto store = spend_store::open({.path = dir.db(), .clock = [] { return time_of(0); }});
  REQUIRE(store.has_value());
  auto state = (*store)->load();
  REQUIRE(state.has_value());
  ledger after(small_tables());
  restore(after, *state, restart);
  account* campaign = after.find("c1");
  REQUIRE(campaign != nullptr);
  after.set_budgets({{campaign, the_budget()}});
  const written* matched = nullptr;
  for (const written& w : writes) {
    if (w.spent == campaign->spent_lifetime() && w.reserved == campaign->reserved() &&
        w.wins == campaign->wins()) {
      matched = &w;
    }
  }
  INFO("restored spent " << campaign->spent_lifetime() << ", reserved " << campaign->reserved()
                         << ", wins " << campaign->wins());
  REQUIRE(matched != nullptr);
  // Only the operations since the last write are lost: the one cut short and those before it
  // since the previous write (an unsynced write is in the OS cache, which a killed process
  // cannot lose).
  const int last_done = kill_at - 1;
  CHECK(matched->op >= last_done - last_done % ops_per_write);
  const int lost_from = matched->op + 1;  // operations lost_from..kill_at may be lost

  // The exchange after the restart. Every bid the child may have made wins at its price; the
  // wins sent before the kill (operations up to kill_at) are not sent again, the others are.
  amount billed = 0;
  int bids_before = 0;
  for (int op = 1; op <= kill_at; ++op) {
    if (!reference.bid_made(op)) continue;
    ++bids_before;
    billed += bid_cost;
    if (op + win_lag > kill_at) apply_win(after, *campaign, op, time_of(op), restart);
  }
  // The crash window: bids whose reservation was lost and wins whose charge was lost.
  amount window = 0;
  for (int op = lost_from; op <= kill_at; ++op) {
    if (reference.bid_made(op)) window += bid_cost;
    if (reference.bid_made(op - win_lag)) window += bid_cost;
  }
  // Then time passes (the restored reservations expire, the ticker runs) and bidding goes on,
  // each bid winning at once, until the budget says no.
  for (unix_seconds t = restart; t <= restart + 120; t += 5) after.tick(t);
  const unix_seconds later = restart + 120;
  int bids_after = 0;
  while (campaign->try_reserve(the_budget(), bid_cost, later)) {
    REQUIRE(++bids_after <= 10 * bids_in_budget);
    billed += bid_cost;
    apply_win(after, *campaign, 100'000 + bids_after, later, later);
  }
  CAPTURE(bids_before, bids_after, matched->op, window);
  // The bidder's own books never exceed the budget; what the exchange bills exceeds it by at
  // most the crash window, and the budget is used (no leak of reservations either).
  CHECK(campaign->spent_day(later) <= the_budget().daily);
  CHECK(billed <= the_budget().daily + window);
  CHECK(billed >= the_budget().daily - bid_cost);
  CHECK(window <= 2 * ops_per_write * bid_cost);
}

// The child process of the test above (hidden: runs only when named, as the parent does).
TEST_CASE("spend crash child: a bidder process to be killed", "[.][spend][crash]") {
  const char* db = std::getenv(child_db_variable);
  if (db == nullptr) return;  // run by hand: nothing to do
  run_bidder(db, child_go_fd, child_done_fd);
}
