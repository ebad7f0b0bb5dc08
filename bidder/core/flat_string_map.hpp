// File: bidder/core/flat_string_map.hpp
//
// A hash map from strings to V for tables built once and then only searched, many times per
// bid request (the targeting index's domain, bundle, category and country lists). Open
// addressing over one array of 8-byte slots (a hash tag and an entry number), entries in one
// array, their keys in one buffer: a look-up reads a slot's cache line, then, only when the
// tag matches, the entry and its key. std::unordered_map reads a bucket, a node and the key
// behind it, and compares keys along the whole chain of a missed look-up, which is what most
// block-list look-ups are.
//
//   flat_string_map<std::vector<std::uint32_t>> m;
//   m["example.com"].push_back(7);  // builds (references last until the next insert)
//   if (const auto* ranks = m.find(domain)) use(*ranks);
//
// Not thread-safe while inserting; any number of threads may find() in a map nobody changes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bidder {

template <class V>
class flat_string_map {
 public:
  /// The value of `key`, inserted (value-initialized) when absent.
  V& operator[](std::string_view key) {
    const std::uint64_t h = hash(key);
    if (slots_.empty() || (entries_.size() + 1) * 2 > slots_.size()) grow();
    std::size_t i = h & (slots_.size() - 1);
    for (;; i = (i + 1) & (slots_.size() - 1)) {
      const slot s = slots_[i];
      if (s.entry == 0) break;
      if (s.tag == tag_of(h) && key_of(entries_[s.entry - 1]) == key) {
        return entries_[s.entry - 1].value;
      }
    }
    entries_.push_back(
        {static_cast<std::uint32_t>(keys_.size()), static_cast<std::uint32_t>(key.size()), V{}});
    keys_.append(key);
    slots_[i] = {tag_of(h), static_cast<std::uint32_t>(entries_.size())};
    return entries_.back().value;
  }

  /// The value of `key`; null when absent.
  const V* find(std::string_view key) const noexcept {
    if (entries_.empty()) return nullptr;
    const std::uint64_t h = hash(key);
    const std::uint32_t tag = tag_of(h);
    for (std::size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const slot s = slots_[i];
      if (s.entry == 0) return nullptr;
      if (s.tag == tag && key_of(entries_[s.entry - 1]) == key) return &entries_[s.entry - 1].value;
    }
  }

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }

  /// Calls fn(key, value) for each entry, in insertion order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const entry& e : entries_) fn(key_of(e), e.value);
  }

 private:
  struct slot {
    std::uint32_t tag = 0;    // the hash's high half
    std::uint32_t entry = 0;  // 1 + index into entries_; 0: empty
  };
  struct entry {
    std::uint32_t key_offset = 0, key_size = 0;  // in keys_
    V value{};
  };

  static std::uint64_t hash(std::string_view key) noexcept {
    return std::hash<std::string_view>{}(key);
  }
  static std::uint32_t tag_of(std::uint64_t h) noexcept {
    return static_cast<std::uint32_t>(h >> 32);
  }
  std::string_view key_of(const entry& e) const noexcept {
    return {keys_.data() + e.key_offset, e.key_size};
  }

  // At most half the slots used: a missed look-up then ends within a slot or two.
  void grow() {
    std::vector<slot> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t n = 0; n < entries_.size(); ++n) {
      const std::uint64_t h = hash(key_of(entries_[n]));
      std::size_t i = h & (bigger.size() - 1);
      while (bigger[i].entry != 0) i = (i + 1) & (bigger.size() - 1);
      bigger[i] = {tag_of(h), static_cast<std::uint32_t>(n + 1)};
    }
    slots_ = std::move(bigger);
  }

  std::vector<slot> slots_;  // a power of two long
  std::vector<entry> entries_;
  std::string keys_;
};

}  // namespace bidder
