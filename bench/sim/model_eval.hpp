// File: bench/sim/model_eval.hpp
//
// `bidsim --evaluate-model FILE`: how good a click model from `bidder train` is on a market it
// was not trained on (another seed, or later days with --start-day), against the oracle that
// knows every true probability. For each request and each campaign whose targeting matches its
// user, the model predicts P(click) from exactly what the bidder would see (the request as the
// bidder parses it, the user's segments as the audience files give them), a click is drawn with
// the true P(click), and both the model and the oracle (the true P) are scored on those draws:
// log-loss, AUC, calibration. A third scorer, the oracle without the per-user latent term that
// no feature reveals, shows how much of the gap to the oracle any feature model must keep.
//
//   auto m = learning::read_model_file("click.model");
//   model_evaluation e = evaluate_click_model(s, users, *m, {.max_requests = 100'000});
#pragma once

#include <cstdint>
#include <string>

#include "bench/sim/market.hpp"
#include "bidder/learning/model_file.hpp"
#include "bidder/training/metrics.hpp"

namespace bidder::sim {

struct evaluation_options {
  std::uint64_t max_requests = 0;  ///< 0: the scenario's days * requests per day
  std::int64_t now = 0;            ///< the wall clock the audience files' times are relative to
};

struct model_evaluation {
  training::quality model;
  training::quality oracle;
  /// The true P(click) without the user's hidden latent term: the best any model of the
  /// observable features can rank (its AUC is the ceiling of a feature model's).
  training::quality observable;
  std::uint64_t requests = 0;
  std::uint64_t pairs = 0;  ///< (request, eligible campaign) pairs scored
};

model_evaluation evaluate_click_model(const scenario& s, const population& users,
                                      const learning::model& m, const evaluation_options& options);

/// The side-by-side table of an evaluation.
std::string evaluation_text(const model_evaluation& e);

}  // namespace bidder::sim
