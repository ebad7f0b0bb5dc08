#include "bidder/audience/reach_sample.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "bidder/core/hash.hpp"
#include "bidder/expression/program.hpp"

namespace bidder::audience {

reach_bounds reach_interval(std::uint64_t sampled, std::uint64_t scale) noexcept {
  if (scale <= 1) return {sampled, sampled};
  // X ~ Binomial(C, q): mean lambda = C q, variance lambda (1 - q). The lambdas with
  // (X - lambda)^2 = z^2 lambda (1 - q) bound it at 95% (Wilson); C = lambda / q.
  constexpr double z = 1.959964;
  const double q = 1.0 / static_cast<double>(scale);
  const double x = static_cast<double>(sampled);
  const double spread = z * z * (1 - q);
  const double root = z * std::sqrt((1 - q) * (x + spread / 4));
  const double low = std::max(0.0, x + spread / 2 - root) / q;
  const double high = (x + spread / 2 + root) / q;
  return {std::max(sampled, static_cast<std::uint64_t>(std::floor(low))),
          static_cast<std::uint64_t>(std::ceil(high))};
}

reach_sample::reach_sample(unsigned rate_log2, std::uint64_t seed)
    : rate_log2_(std::min(rate_log2, 20u)), seed_(seed) {}

bool reach_sample::holds(std::string_view key) const noexcept {
  if (rate_log2_ == 0) return true;
  return (hash64(key, seed_) >> (64 - rate_log2_)) == 0;
}

void reach_sample::put(std::string_view key, std::span<const membership_view> memberships) {
  if (memberships.empty()) return erase(key);
  std::vector<entry> entries;
  entries.reserve(memberships.size());
  std::unique_lock lock(mutex_);
  for (const membership_view& m : memberships) {
    entries.push_back({names_.intern(m.segment), m.last_seen, m.expires_at});
  }
  // Sorted by segment, the most recent first, then one per segment (as the auction keeps them).
  std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.last_seen > b.last_seen;
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const entry& a, const entry& b) { return a.segment == b.segment; }),
                entries.end());
  keys_[hash64(key, seed_)] = std::move(entries);
}

void reach_sample::erase(std::string_view key) {
  std::unique_lock lock(mutex_);
  keys_.erase(hash64(key, seed_));
}

std::uint64_t reach_sample::keys() const {
  std::shared_lock lock(mutex_);
  return keys_.size();
}

std::uint64_t reach_sample::count(const expression::group& g, unix_seconds now) const {
  std::shared_lock lock(mutex_);
  auto program = expression::compile(
      g, [&](std::string_view name) { return names_.find(name).value_or(expression::no_segment); });
  if (!program) return 0;
  std::vector<segment_membership> live;
  std::uint64_t matched = 0;
  for (const auto& [hash, entries] : keys_) {
    live.clear();
    for (const entry& e : entries) {
      if (e.expires_at == 0 || e.expires_at > now) live.push_back({e.segment, e.last_seen});
    }
    // A key whose memberships all expired is no one's reach (the exact count skips it too).
    if (!live.empty()) matched += expression::matches(*program, live, now) ? 1 : 0;
  }
  return matched;
}

}  // namespace bidder::audience
