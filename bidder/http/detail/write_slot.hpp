// File: bidder/http/detail/write_slot.hpp
//
// Memory for a connection's one answer write at a time, so that writing an answer allocates
// nothing. The bid port starts a reactor round's answers together (session::flush_answers): at
// closed-loop saturation up to ~60 writes are alive before the first completes, more than Asio's
// per-thread recycling cache (2 blocks) keeps, and each write's operation was an aligned_alloc
// (0.3 per request, perf probe on libc, 2026-12-07). A write's handler carries the slot's
// allocator (asio::bind_allocator); an operation too large, or a second one while the slot is
// taken, falls back to the heap.
//
//   asio::async_write(socket, buffer, asio::bind_allocator(slot.get(), handler));
//
// Lifetime: Asio frees an operation's memory after moving its handler out and before calling
// it (or destroying it), so the handler's hold on the connection keeps the slot alive.
// One thread (the connection's worker).
#pragma once

#include <cstddef>
#include <new>

namespace bidder::http::detail {

class write_slot {
 public:
  template <class T>
  class allocator {
   public:
    using value_type = T;
    explicit allocator(write_slot& slot) noexcept : slot_(&slot) {}
    template <class U>
    allocator(const allocator<U>& other) noexcept : slot_(other.slot_) {}
    T* allocate(std::size_t n) { return static_cast<T*>(slot_->take(n * sizeof(T))); }
    void deallocate(T* p, std::size_t) noexcept { slot_->give(p); }
    template <class U>
    bool operator==(const allocator<U>& other) const noexcept {
      return slot_ == other.slot_;
    }

   private:
    template <class U>
    friend class allocator;
    write_slot* slot_;
  };

  allocator<void> get() noexcept { return allocator<void>(*this); }
  /// Whether an operation holds the slot (tests).
  bool taken() const noexcept { return taken_; }

 private:
  void* take(std::size_t bytes) {
    if (taken_ || bytes > sizeof(storage_)) return ::operator new(bytes);
    taken_ = true;
    return storage_;
  }
  void give(void* p) noexcept {
    if (p == static_cast<void*>(storage_)) {
      taken_ = false;
      return;
    }
    ::operator delete(p);
  }

  // A socket write of one buffer with its handler is ~230 bytes with this Asio (1.81).
  alignas(std::max_align_t) unsigned char storage_[384];
  bool taken_ = false;
};

}  // namespace bidder::http::detail
