#include "bidder/training/ftrl.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "bidder/learning/model_file.hpp"

namespace bidder::training {

ftrl::ftrl(std::uint32_t bits, ftrl_options options)
    : options_(options),
      mask_((std::uint64_t{1} << bits) - 1),
      z_(std::size_t{1} << bits, 0.0),
      n_(std::size_t{1} << bits, 0.0) {}

double ftrl::weight(std::uint64_t i) const noexcept {
  const double z = z_[i];
  if (std::abs(z) <= options_.l1) return 0;
  const double sign = z < 0 ? -1.0 : 1.0;
  return -(z - sign * options_.l1) /
         ((options_.beta + std::sqrt(n_[i])) / options_.alpha + options_.l2);
}

double ftrl::predict(const learning::hashed_features& f) const noexcept {
  double score = 0;
  for (std::size_t k = 0; k < f.size; ++k) score += weight(f.items[k] & mask_);
  return learning::model::sigmoid(score);
}

double ftrl::update(const learning::hashed_features& f, bool label) noexcept {
  const double p = predict(f);
  const double g = p - (label ? 1.0 : 0.0);  // the log-loss gradient of the score
  // Features that collide in the table share a weight, which the score counts once per
  // feature: that coordinate's value x is the count, and its gradient g * x (one step, as in
  // McMahan et al.'s Algorithm 1, not one step per colliding feature).
  std::array<std::uint64_t, learning::hashed_features::capacity> index;
  for (std::size_t k = 0; k < f.size; ++k) index[k] = f.items[k] & mask_;
  std::sort(index.begin(), index.begin() + static_cast<std::ptrdiff_t>(f.size));
  for (std::size_t k = 0; k < f.size;) {
    const std::uint64_t i = index[k];
    std::size_t count = 0;
    while (k < f.size && index[k] == i) ++k, ++count;
    const double gi = g * static_cast<double>(count);
    const double w = weight(i);
    const double sigma = (std::sqrt(n_[i] + gi * gi) - std::sqrt(n_[i])) / options_.alpha;
    z_[i] += gi - sigma * w;
    n_[i] += gi * gi;
  }
  return p;
}

std::vector<float> ftrl::weights() const {
  std::vector<float> out(z_.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(weight(i));
  return out;
}

}  // namespace bidder::training
