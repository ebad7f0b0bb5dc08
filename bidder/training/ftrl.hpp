// File: bidder/training/ftrl.hpp
//
// Logistic regression trained online with FTRL-Proximal (McMahan et al., "Ad Click Prediction:
// a View from the Trenches", KDD 2013): per-coordinate learning rates, and L1 that keeps most of
// a hashed table at exactly zero. The industry's reference for click models over sparse hashed
// features; one pass costs one sparse update per example.
//
//   training::ftrl learner(18, {.alpha = 0.05});
//   for (auto& e : examples) learner.update(hashed(e), e.label);
//   std::vector<float> w = learner.weights();
#pragma once

#include <cstdint>
#include <vector>

#include "bidder/learning/features.hpp"

namespace bidder::training {

struct ftrl_options {
  double alpha = 0.05;  ///< learning-rate scale
  double beta = 1.0;    ///< learning-rate smoothing
  double l1 = 0.5;      ///< L1 strength (sparsity)
  double l2 = 1.0;      ///< L2 strength
};

class ftrl {
 public:
  ftrl(std::uint32_t bits, ftrl_options options);
  /// The current prediction for these features.
  double predict(const learning::hashed_features& f) const noexcept;
  /// One gradient step on (features, label); returns the prediction before the step.
  double update(const learning::hashed_features& f, bool label) noexcept;
  /// The weights (2^bits) the model file stores.
  std::vector<float> weights() const;

 private:
  double weight(std::uint64_t i) const noexcept;
  ftrl_options options_;
  std::uint64_t mask_;
  std::vector<double> z_, n_;
};

}  // namespace bidder::training
