// File: bidder/core/hash.hpp
//
// The project's 64-bit hashes: spend tables key campaigns, bids and users with them, experiments
// split users with them, and learned models hash their features with them. They are part of
// the on-disk formats (model files, frequency tables), so they must give the same value on
// every build and machine: never change them; add a new function instead.
//
//   std::uint64_t h = bidder::hash64("campaign-7", seed);
#pragma once

#include <cstdint>
#include <string_view>

namespace bidder {

/// A 64-bit mix (the murmur3 finaliser): spreads every input bit over the output.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/// A 64-bit hash of `bytes` with `seed` (FNV-1a, then mixed). Not cryptographic: keyed with a
/// secret seed it makes user ids opaque, and collisions only merge two table entries.
constexpr std::uint64_t hash64(std::string_view bytes, std::uint64_t seed = 0) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed);
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

}  // namespace bidder
