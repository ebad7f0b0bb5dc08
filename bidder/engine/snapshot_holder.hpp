// File: bidder/engine/snapshot_holder.hpp
//
// Hands the current campaign snapshot to worker threads and swaps in new ones on reload.
// Each worker keeps a `reader`, whose `get()` costs one atomic load per request: it re-fetches
// the shared_ptr (under a mutex) only when the version changed, i.e. once per reload. So the
// bid path takes no lock in steady state, and an old snapshot lives until the last worker that
// used it has moved on.
//
//   engine::snapshot_holder holder(initial);
//   engine::snapshot_holder::reader reader(holder);   // one per worker thread
//   const engine::snapshot& snap = reader.get();      // per request
//   holder.publish(next);                              // reload (control plane)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "bidder/engine/snapshot.hpp"

namespace bidder::engine {

class snapshot_holder {
 public:
  explicit snapshot_holder(std::shared_ptr<const snapshot> initial)
      : current_(std::move(initial)) {}

  /// Makes `next` the snapshot every reader sees from its next get(). Thread-safe.
  void publish(std::shared_ptr<const snapshot> next) {
    {
      std::lock_guard lock(mutex_);
      current_ = std::move(next);
    }
    version_.fetch_add(1, std::memory_order_release);
  }

  /// The current snapshot (control plane: takes the mutex).
  std::shared_ptr<const snapshot> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  /// A worker's cached view. Not thread-safe: one per thread.
  class reader {
   public:
    explicit reader(const snapshot_holder& holder) : holder_(holder) { refresh(); }
    const snapshot& get() {
      if (holder_.version() != version_) refresh();
      return *cached_;
    }

   private:
    void refresh() {
      version_ = holder_.version();
      cached_ = holder_.current();
    }
    const snapshot_holder& holder_;
    std::uint64_t version_ = 0;
    std::shared_ptr<const snapshot> cached_;
  };

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const snapshot> current_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace bidder::engine
