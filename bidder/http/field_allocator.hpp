// File: bidder/http/field_allocator.hpp
//
// The allocator of requests' and answers' header fields (http::fields). Beast allocates every
// field it sets or parses (an element holding name and value), and the server parses a request
// and clears the answer for each one: with std::allocator that was a malloc/free pair per field
// (the answer's x-openrtb-version, content-type, Content-Length; bench_bid_handler's
// allocs/req; the request's Host, Content-Type, Content-Length...). This one keeps freed blocks
// of up to 256 bytes in small per-thread lists by size class, so a worker reuses the same few
// blocks request after request and the bid path allocates nothing.
//
// Stateless (all instances equal): a block freed on another thread (the admin port's offload
// thread fills answers too) joins that thread's list. Each list keeps at most `kept` blocks:
// enough for a reactor round's worth of connections, because a round frees before it takes.
// The answers written at the end of a round complete together, and each completion frees its
// connection's request fields (read_next) before any next request has arrived; those are
// parsed in a later round. With 64 kept, a closed loop of 64 connections mallocked ~3 fields
// per request (perf probe on malloc, 2026-12-07).
#pragma once

#include <array>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace bidder::http {

namespace detail {

class field_block_cache {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 4;  // 64, 128, 192, 256 bytes
  static constexpr std::size_t kept = 2048;  // at most 1.25 MiB a thread over the 4 classes

  // Size class of `bytes`, or `classes` when it is too large to keep.
  static std::size_t class_of(std::size_t bytes) noexcept {
    return bytes == 0 ? 0 : (bytes - 1) / granule;
  }

  void* take(std::size_t c) {
    if (free_[c] == nullptr) return ::operator new((c + 1) * granule);
    node* n = free_[c];
    free_[c] = n->next;
    --count_[c];
    return n;
  }
  void give(void* p, std::size_t c) noexcept {
    if (count_[c] == kept) return ::operator delete(p);
    free_[c] = new (p) node{free_[c]};
    ++count_[c];
  }
  ~field_block_cache() {
    for (node* n : free_) {
      while (n != nullptr) ::operator delete(std::exchange(n, n->next));
    }
  }

  static field_block_cache& of_this_thread() noexcept {
    thread_local field_block_cache cache;
    return cache;
  }

 private:
  struct node {
    node* next;
  };
  std::array<node*, classes> free_{};
  std::array<std::size_t, classes> count_{};
};

}  // namespace detail

template <class T>
class field_allocator {
 public:
  using value_type = T;
  using is_always_equal = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;

  field_allocator() noexcept = default;
  template <class U>
  field_allocator(const field_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    const std::size_t c = detail::field_block_cache::class_of(bytes);
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (c >= detail::field_block_cache::classes) return static_cast<T*>(::operator new(bytes));
    return static_cast<T*>(detail::field_block_cache::of_this_thread().take(c));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t c = detail::field_block_cache::class_of(n * sizeof(T));
    if (c >= detail::field_block_cache::classes) return ::operator delete(p);
    detail::field_block_cache::of_this_thread().give(p, c);
  }

  template <class U>
  bool operator==(const field_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace bidder::http
