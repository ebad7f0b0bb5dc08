// File: bidder/core/periodic_task.hpp
//
// A background thread that runs one task every `interval` (counted from the start of its last
// run), and once more when stopped: e.g. the audience store's write-ahead log synced once a
// second (docs/audience-events.md "Durability"). The task runs on this thread only, at the
// given background priority (background_thread.hpp), never on a caller's: a slow run delays
// the next one, nobody else. The clock is injectable and wake_and_wait() makes the thread look
// at it at once, so tests step time without sleeping.
//
//   periodic_task syncer([&] { return store.sync_wal(); }, {.interval = std::chrono::seconds(1)});
//   ...
//   syncer.stop();  // runs the task a last time, then joins
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "bidder/core/background_thread.hpp"
#include "bidder/core/error.hpp"

namespace bidder {

class periodic_task {
 public:
  struct options {
    std::chrono::nanoseconds interval = std::chrono::seconds(1);
    /// Nanoseconds on a monotonic clock (tests inject one and move it by hand).
    std::function<std::int64_t()> clock_ns = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
    background_priority priority = background_priority::low;
  };

  /// Runs of the task so far, and how many of them returned an error (or threw).
  struct counts {
    std::uint64_t runs = 0, failures = 0;
  };

  /// Starts the thread; the first run is one interval from now.
  periodic_task(std::function<result<void>()> task, options o);
  ~periodic_task();  // stop()
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;

  /// Runs the task a last time (whether due or not) and joins the thread. Idempotent.
  void stop();

  /// The thread looks at its clock now, running the task if it is due, and this returns once
  /// it has (at once after stop()). For tests, after they moved the injected clock.
  void wake_and_wait();

  counts so_far() const noexcept;

 private:
  void run(std::int64_t due) noexcept;
  void run_task() noexcept;

  std::function<result<void>()> task_;
  options options_;
  std::atomic<std::uint64_t> runs_{0}, failures_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_, looked_;
  std::uint64_t wakes_ = 0;                   // under mutex_: wake_and_wait() calls
  std::uint64_t looked_at_ = 0;               // under mutex_: the last of them the thread answered
  bool stopping_ = false, finished_ = false;  // under mutex_
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace bidder
