// File: bidder/core/reuse_vector.hpp
//
// A vector whose `clear()` keeps its elements (and their own buffers) alive, so a per-thread
// request object reaches a steady state with no heap allocation per request. `emplace()`
// hands back the next element after calling its `reset()` (if it has one).
//
//   reuse_vector<imp> imps;   // lives as long as the worker thread
//   imps.clear();             // per request: O(1), no frees
//   imp& i = imps.emplace();  // reuses imps[0] and its inner vectors
#pragma once

#include <cstddef>
#include <vector>

namespace bidder {

template <class T>
class reuse_vector {
 public:
  T& emplace() {
    if (size_ == items_.size()) items_.emplace_back();
    T& item = items_[size_++];
    if constexpr (requires(T & t) { t.reset(); }) {
      item.reset();
    } else {
      item = T{};
    }
    return item;
  }
  void push_back(const T& value) { emplace() = value; }
  void clear() noexcept { size_ = 0; }
  /// Drops the elements from `size` on (kept for reuse, like clear()); `size` <= size().
  void truncate(std::size_t size) noexcept {
    if (size < size_) size_ = size;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return items_[i]; }
  const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  T* begin() noexcept { return items_.data(); }
  T* end() noexcept { return items_.data() + size_; }
  const T* begin() const noexcept { return items_.data(); }
  const T* end() const noexcept { return items_.data() + size_; }
  T& back() noexcept { return items_[size_ - 1]; }

 private:
  std::vector<T> items_;
  std::size_t size_ = 0;
};

}  // namespace bidder
