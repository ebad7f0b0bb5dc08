// File: bidder/engine/campaign_set.hpp
//
// A set of campaigns as a bitset over their ranks (targeting_index numbers campaigns by
// descending max CPM). Selecting the campaigns a request may reach is then a few word-wide ANDs
// per targeting dimension instead of string compares per campaign: 1,000 campaigns are 16
// words. All sets of one snapshot have the same size, so assigning one to another reuses its
// storage (no allocation on the bid path once a worker's scratch sets are sized).
//
//   campaign_set s(campaign_count);  // empty
//   s.set(3);
//   s &= other;
//   s.for_each([](std::uint32_t rank) { ...; return true; });  // false stops
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace bidder::engine {

class campaign_set {
 public:
  campaign_set() = default;
  explicit campaign_set(std::size_t size, bool all = false) { resize(size, all); }

  /// Makes the set `size` ranks long, all in (`all`) or all out.
  void resize(std::size_t size, bool all = false) {
    size_ = size;
    words_.assign((size + 63) / 64, all ? ~std::uint64_t{0} : 0);
    if (all) trim();
  }
  std::size_t size() const noexcept { return size_; }

  void set(std::uint32_t rank) noexcept { words_[rank >> 6] |= std::uint64_t{1} << (rank & 63); }
  void reset(std::uint32_t rank) noexcept {
    words_[rank >> 6] &= ~(std::uint64_t{1} << (rank & 63));
  }
  bool test(std::uint32_t rank) const noexcept { return (words_[rank >> 6] >> (rank & 63)) & 1; }
  bool all() const noexcept {
    for (std::size_t i = 0; i < words_.size(); ++i) {
      const std::uint64_t full = i + 1 < words_.size() || size_ % 64 == 0
                                     ? ~std::uint64_t{0}
                                     : (std::uint64_t{1} << (size_ % 64)) - 1;
      if (words_[i] != full) return false;
    }
    return true;
  }
  bool none() const noexcept {
    for (std::uint64_t w : words_) {
      if (w != 0) return false;
    }
    return true;
  }

  /// Same-size sets only.
  campaign_set& operator&=(const campaign_set& other) noexcept {
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
    return *this;
  }
  campaign_set& operator|=(const campaign_set& other) noexcept {
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
    return *this;
  }
  /// Removes every rank of `other`.
  void subtract(const campaign_set& other) noexcept {
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] &= ~other.words_[i];
  }
  /// Flips every rank (within size()).
  void flip() noexcept {
    for (std::uint64_t& w : words_) w = ~w;
    trim();
  }

  /// Calls `fn(rank)` in ascending rank order while it returns true.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t i = 0; i < words_.size(); ++i) {
      for (std::uint64_t w = words_[i]; w != 0; w &= w - 1) {
        if (!fn(static_cast<std::uint32_t>(i * 64 + std::countr_zero(w)))) return;
      }
    }
  }

 private:
  void trim() noexcept {
    if (size_ % 64 != 0 && !words_.empty()) words_.back() &= (std::uint64_t{1} << (size_ % 64)) - 1;
  }

  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

}  // namespace bidder::engine
