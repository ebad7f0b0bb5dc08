// periodic_task (bidder/core/periodic_task.hpp) on an injected clock: the task runs once per
// interval counted from its last run, never early, once more at stop, and failures are counted.
#include "bidder/core/periodic_task.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

using bidder::periodic_task;

namespace {

constexpr std::int64_t ms = 1'000'000;  // in the injected clock's nanoseconds

struct manual_clock {
  std::atomic<std::int64_t> now{1'000 * ms};
  std::function<std::int64_t()> fn() {
    return [this] { return now.load(); };
  }
};

}  // namespace

TEST_CASE("a periodic task runs once per interval of its clock, and once more at stop",
          "[core][unit]") {
  manual_clock clock;
  std::atomic<int> calls{0};
  std::atomic<std::thread::id> ran_on{};
  periodic_task task(
      [&]() -> bidder::result<void> {
        ran_on = std::this_thread::get_id();
        ++calls;
        return {};
      },
      {.interval = std::chrono::milliseconds(1000), .clock_ns = clock.fn()});

  task.wake_and_wait();
  CHECK(calls == 0);  // not at start: one interval from it
  clock.now += 999 * ms;
  task.wake_and_wait();
  CHECK(calls == 0);
  clock.now += 1 * ms;
  task.wake_and_wait();
  CHECK(calls == 1);
  CHECK(ran_on.load() != std::this_thread::get_id());  // on its own thread, not the caller's
  task.wake_and_wait();
  CHECK(calls == 1);  // the same instant: not again

  // The next run is one interval after the last one's start, however late that one was.
  clock.now += 1'500 * ms;  // 2.5 s
  task.wake_and_wait();
  CHECK(calls == 2);
  clock.now += 999 * ms;
  task.wake_and_wait();
  CHECK(calls == 2);
  clock.now += 1 * ms;
  task.wake_and_wait();
  CHECK(calls == 3);
  CHECK(task.so_far().runs == 3);
  CHECK(task.so_far().failures == 0);

  task.stop();  // not due, but the last run covers what came before the stop
  CHECK(calls == 4);
  task.stop();
  task.wake_and_wait();  // after stop: returns at once, runs nothing
  CHECK(calls == 4);
  CHECK(task.so_far().runs == 4);
}

TEST_CASE("a periodic task's failures are counted and the next interval runs it again",
          "[core][unit]") {
  manual_clock clock;
  std::atomic<int> calls{0};
  auto task = std::make_unique<periodic_task>(
      [&]() -> bidder::result<void> {
        if (++calls == 1) return bidder::make_error(bidder::errc::io_error, "disk gone");
        if (calls == 2) throw std::runtime_error("thrown");
        return {};
      },
      periodic_task::options{.interval = std::chrono::milliseconds(10), .clock_ns = clock.fn()});
  for (int i = 0; i < 3; ++i) {
    clock.now += 10 * ms;
    task->wake_and_wait();
  }
  CHECK(calls == 3);
  CHECK(task->so_far().runs == 3);
  CHECK(task->so_far().failures == 2);
  task.reset();  // the destructor stops it: one last run
  CHECK(calls == 4);
}
