// bidsim --evaluate-model: a click model scored against the oracle on the market's requests.
#include "bench/sim/model_eval.hpp"

#include <catch2/catch.hpp>

#include "bench/sim/market.hpp"
#include "tests/support/learned_model_file.hpp"

namespace {

using namespace bidder;

constexpr std::int64_t now = 1'796'500'000;

sim::scenario small_market() {
  sim::scenario s = sim::default_scenario();
  s.users = 2000;
  s.days = 1;
  s.requests_per_day = 20000;
  return s;
}

}  // namespace

TEST_CASE("evaluate-model: a model that knows nothing ranks at chance, the oracle above it",
          "[sim][unit]") {
  const sim::scenario s = small_market();
  const sim::population users = sim::make_population(s);
  // Every weight zero but the bias: the same P(click) for every impression.
  const learning::model flat = test::make_learned_model({.bias = -4.5});
  const sim::model_evaluation e = sim::evaluate_click_model(s, users, flat, {.now = now});
  CHECK(e.requests == 20000);
  CHECK(e.pairs > e.requests);  // run-of-network matches everyone, others some
  CHECK(e.model.examples == e.pairs);
  CHECK(e.oracle.positives == e.model.positives);  // scored on the same draws
  CHECK(e.model.auc == Approx(0.5));
  CHECK(e.oracle.auc > 0.6);
  CHECK(e.observable.auc > 0.55);
  CHECK(e.observable.auc < e.oracle.auc);  // the latent term is worth something
  CHECK(e.oracle.calibration == Approx(1.0).margin(0.15));
  // Same seed, same draws, same figures.
  const sim::model_evaluation again = sim::evaluate_click_model(s, users, flat, {.now = now});
  CHECK(again.model.log_loss == e.model.log_loss);
  CHECK(again.oracle.auc == e.oracle.auc);
}

TEST_CASE("evaluate-model: a model that knows the segments ranks above chance", "[sim][unit]") {
  const sim::scenario s = small_market();
  const sim::population users = sim::make_population(s);
  // Car-site visitors click more in the hidden model (docs/bidsim.md).
  const learning::model segments = test::make_learned_model(
      {.bias = -4.5, .segment_weights = {{sim::segment_car_visitor, 0.8}}});
  const sim::model_evaluation e = sim::evaluate_click_model(s, users, segments, {.now = now});
  CHECK(e.model.auc > 0.52);
  CHECK(e.model.auc < e.oracle.auc);
}
