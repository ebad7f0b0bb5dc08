// File: bidder/training/metrics.hpp
//
// How good a probability model is on labelled examples: log-loss, AUC and calibration.
//
//   training::quality q = training::measure(predictions, labels);
//   // q.log_loss, q.auc, q.calibration (mean prediction / observed rate; 1 is perfect)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bidder::training {

struct calibration_bucket {
  double predicted = 0;  ///< mean prediction of the bucket
  double observed = 0;   ///< its share of positive labels
  std::uint64_t count = 0;
};

struct quality {
  std::uint64_t examples = 0;
  std::uint64_t positives = 0;
  double log_loss = 0;  ///< mean negative log-likelihood (natural log)
  double auc = 0.5;     ///< area under the ROC curve (ties count half); 0.5 without both labels
  double mean_predicted = 0;
  double observed_rate = 0;
  /// mean_predicted / observed_rate: 1.1 predicts 10 % too many; 0 without positives.
  double calibration = 0;
  /// Ten buckets of equal count by prediction, lowest first (fewer with few examples).
  std::vector<calibration_bucket> buckets;
};

/// Scores `predicted` (probabilities) against `labels`; both the same length.
quality measure(std::span<const double> predicted, std::span<const bool> labels);

/// A JSON object of the figures (for the model file's summary and `bidder train --json`).
std::string to_json(const quality& q);

}  // namespace bidder::training
