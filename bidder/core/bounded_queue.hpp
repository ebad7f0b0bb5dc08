// File: bidder/core/bounded_queue.hpp
//
// A bounded multi-producer, single-consumer ring of fixed-size slots after
// Dmitry Vyukov's bounded MPMC queue: each slot carries a sequence number that says whether it
// is free for the producer at position p (seq == p) or holds that producer's item for the
// consumer (seq == p + 1). A producer claims a position with one CAS and never waits: when the
// ring is full, `try_push` returns false at once.
//
// Trade-off, documented for event_log: a producer descheduled between its CAS and its publish
// holds up the consumer at that slot (not other producers), so the ring fills behind it and
// later pushes are refused, never blocked.
//
//   bounded_queue<rec> q(1024);
//   q.try_push([&](rec& slot) { slot = ...; });   // any thread
//   while (rec* r = q.front()) { use(*r); q.pop(); }   // the one consumer thread
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace bidder {

/// Cache-line size; slots and the two positions are aligned to it so producers and the consumer
/// do not share lines.
inline constexpr std::size_t cache_line_bytes = 64;

template <class T>
class bounded_queue {
  static_assert(std::is_trivially_copyable_v<T>, "slots are reused without destruction");

 public:
  /// `capacity` must be a power of two >= 2 (checked by the caller, event_log::open).
  explicit bounded_queue(std::size_t capacity) : cells_(new cell[capacity]), mask_(capacity - 1) {
    for (std::size_t i = 0; i < capacity; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  /// Any thread. Calls `fill(T&)` on a claimed slot and publishes it; false when full.
  template <class Fill>
  bool try_push(Fill&& fill) noexcept {
    std::uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    cell* c;
    for (;;) {
      c = &cells_[pos & mask_];
      const std::uint64_t seq = c->seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - pos);
      if (dif == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return false;  // the slot still holds an item from one lap ago: full
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    fill(c->value);
    c->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  /// Consumer only. The next item, or nullptr when none is published yet.
  T* front() noexcept {
    cell& c = cells_[dequeue_pos_ & mask_];
    if (c.seq.load(std::memory_order_acquire) != dequeue_pos_ + 1) return nullptr;
    return &c.value;
  }

  /// Consumer only, after `front()` returned an item: frees its slot for the next lap.
  void pop() noexcept {
    cell& c = cells_[dequeue_pos_ & mask_];
    c.seq.store(dequeue_pos_ + mask_ + 1, std::memory_order_release);
    ++dequeue_pos_;
  }

  /// Positions claimed so far (pushed or being pushed). Any thread.
  std::uint64_t claimed() const noexcept { return enqueue_pos_.load(std::memory_order_acquire); }
  /// Items popped so far. Consumer only.
  std::uint64_t popped() const noexcept { return dequeue_pos_; }

 private:
  struct alignas(cache_line_bytes) cell {
    std::atomic<std::uint64_t> seq;
    T value;
  };
  std::unique_ptr<cell[]> cells_;
  const std::uint64_t mask_;
  alignas(cache_line_bytes) std::atomic<std::uint64_t> enqueue_pos_{0};
  alignas(cache_line_bytes) std::uint64_t dequeue_pos_ = 0;
};

}  // namespace bidder
