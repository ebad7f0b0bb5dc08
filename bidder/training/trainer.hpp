// File: bidder/training/trainer.hpp
//
// `bidder train`'s logic: splits the examples (examples.hpp) by time into a training part and
// a held-out part (the last days, or the last share of the examples), trains a logistic
// regression with FTRL-Proximal on the first, scores it on the second, and returns the model
// (learning::model, ready for write_model_file) with both scores. Deterministic for a seed.
//
//   auto data = training::read_examples({.dir = "data/events"});
//   auto trained = training::train(*data, {.bits = 18, .seed = 7});
//   learning::write_model_file(trained->model, "click.model");
#pragma once

#include <cstdint>

#include "bidder/core/error.hpp"
#include "bidder/learning/model_file.hpp"
#include "bidder/training/examples.hpp"
#include "bidder/training/ftrl.hpp"
#include "bidder/training/metrics.hpp"

namespace bidder::training {

struct train_options {
  learning::model_target target = learning::model_target::click;
  std::uint32_t bits = 18;
  /// Seeds the feature hashing and the shuffles of the passes after the first.
  std::uint64_t seed = 1;
  std::uint32_t epochs = 3;
  ftrl_options ftrl = {};
  /// Held out: the examples of the last `holdout_days` UTC days when > 0, else the last
  /// `holdout_share` of the examples by time (0: none, every example trains).
  std::uint32_t holdout_days = 0;
  double holdout_share = 0.2;
  /// The model file's training time (unix seconds); the caller's clock.
  std::int64_t now = 0;
};

struct trained {
  learning::model model;
  quality training;  ///< on the examples it learned from (optimistic)
  quality holdout;   ///< on the held-out ones: the honest figure
  std::uint64_t training_examples = 0;
  std::uint64_t holdout_examples = 0;
};

/// Errors: invalid_field (bits outside the model file's range, a share outside [0, 1), no
/// training example or no positive one to learn from), naming the option.
[[nodiscard]] result<trained> train(const training_data& data, const train_options& options);

/// The hashed features of one example under `seed`.
void hash_example(const training_data& data, const example& e, std::uint64_t seed,
                  learning::hashed_features& out) noexcept;

}  // namespace bidder::training
