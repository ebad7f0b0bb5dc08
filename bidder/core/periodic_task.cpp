#include "bidder/core/periodic_task.hpp"

#include <algorithm>
#include <utility>

namespace bidder {

periodic_task::periodic_task(std::function<result<void>()> task, options o)
    : task_(std::move(task)), options_(std::move(o)) {
  // Read here, not on the thread: "one interval from now" is from the constructor's call.
  const std::int64_t first_due = options_.clock_ns() + options_.interval.count();
  thread_ = std::thread([this, first_due] { run(first_due); });
}

periodic_task::~periodic_task() { stop(); }

void periodic_task::run_task() noexcept {
  bool ok = false;
  try {
    ok = task_().has_value();
  } catch (...) {
    ok = false;  // counted; the thread carries on
  }
  runs_.fetch_add(1, std::memory_order_release);
  if (!ok) failures_.fetch_add(1, std::memory_order_release);
}

void periodic_task::run(std::int64_t due) noexcept {
  yield_to_bid_threads(options_.priority);
  const std::int64_t interval = options_.interval.count();
  std::unique_lock lock(mutex_);
  for (;;) {
    // A wake counted before the clock is read: the caller moved its clock before waking us.
    const std::uint64_t seen = wakes_;
    const std::int64_t now = options_.clock_ns();
    if (now >= due) {
      lock.unlock();  // wake_and_wait() and stop() never wait behind a run
      run_task();
      lock.lock();
      due = now + interval;
    }
    looked_at_ = seen;
    looked_.notify_all();
    if (stopping_) break;
    const std::int64_t left = std::max<std::int64_t>(0, due - options_.clock_ns());
    wake_.wait_for(lock, std::chrono::nanoseconds(left),
                   [&] { return stopping_ || wakes_ != seen; });
  }
  lock.unlock();
  run_task();  // the last run: what was done before stop() is covered
  lock.lock();
  finished_ = true;
  looked_.notify_all();
}

void periodic_task::wake_and_wait() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = ++wakes_;
  wake_.notify_one();
  looked_.wait(lock, [&] { return finished_ || looked_at_ >= target; });
}

void periodic_task::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  });
}

periodic_task::counts periodic_task::so_far() const noexcept {
  // failures_ first: it grows after runs_, so the pair read never has more failures than runs.
  const std::uint64_t failures = failures_.load(std::memory_order_acquire);
  return {runs_.load(std::memory_order_acquire), failures};
}

}  // namespace bidder
