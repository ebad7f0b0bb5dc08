#include "bidder/shading/win_model.hpp"

#include <catch2/catch.hpp>

#include "tests/shading/market.hpp"

using namespace bidder::shading;

TEST_CASE("the price grid is logarithmic and clamps outside its range", "[shading][unit]") {
  CHECK(grid_cell(0) == 0);
  CHECK(grid_cell(-3) == 0);
  CHECK(grid_cell(std::nan("")) == 0);
  CHECK(grid_cell(1e9) == grid_cells - 1);
  CHECK(grid_edge(0) == Approx(grid_min_price));
  CHECK(grid_edge(grid_cells) == Approx(grid_max_price));
  for (std::size_t i = 1; i < grid_cells; ++i) CHECK(grid_cell(grid_edge(i) * 1.0001) == i);
}

TEST_CASE("with no outcomes the curve is the prior and increasing", "[shading][unit]") {
  const win_curve curve = estimate({});
  CHECK(curve.win_probability(grid_min_price) == Approx(0).margin(1e-9));
  CHECK(curve.win_probability(grid_max_price * 2) == Approx(1));
  double last = 0;
  for (double b = 0.02; b < 90; b *= 1.3) {
    CHECK(curve.win_probability(b) >= last);
    last = curve.win_probability(b);
  }
}

namespace {

// Feeds `n` explored outcomes (bids of value x U[0.3, 1]) of the market into counts; with
// `min_to_win`, a loss reports the price to beat (+0.01), else only that it lost.
outcome_counts observe_market(bidder::test::synthetic_market& m, int n, bool min_to_win) {
  outcome_counts counts;
  for (int i = 0; i < n; ++i) {
    const double value = m.value();
    const double bid = value * (0.3 + 0.7 * m.uniform());
    const double competing = m.highest_competing_bid();
    if (bid > competing) {
      counts.below[grid_cell(bid)] += 1;
    } else if (min_to_win) {
      counts.exact[grid_cell(competing + 0.01)] += 1;
    } else {
      counts.above[grid_cell(bid)] += 1;
    }
  }
  return counts;
}

}  // namespace

TEST_CASE("a learned win curve picks a near-optimal price against a grid search",
          "[shading][unit]") {
  bidder::test::synthetic_market m;
  const bool min_to_win = GENERATE(true, false);
  // With min-to-win every loss gives the price to beat; without, only wins and losses (both
  // censored), so the estimate needs more of them to be as good.
  const win_curve curve = estimate(observe_market(m, min_to_win ? 5000 : 20000, min_to_win));
  INFO("min_to_win " << min_to_win);
  for (double value : {0.8, 1.2, 2.0, 3.0, 5.0, 8.0}) {
    INFO("value " << value);
    const double optimal = m.best_bid(value);
    const double learned = value * best_factor(curve, value);
    INFO("optimal bid " << optimal << ", learned " << learned);
    // (An absolute slack for low values, where no bid has a surplus worth the name.)
    CHECK(m.expected_surplus(value, learned) >=
          (min_to_win ? 0.95 : 0.9) * m.expected_surplus(value, optimal) - 1e-3);
    CHECK(learned <= value);
    // The estimated curve itself is close to the truth where bids are placed (censored
    // outcomes alone pin it down more slowly: the estimator converges at n^(1/3)).
    CHECK(curve.win_probability(optimal) ==
          Approx(m.win_probability(optimal)).margin(min_to_win ? 0.06 : 0.1));
  }
}

TEST_CASE("the factor table holds best_factor at each value level", "[shading][unit]") {
  bidder::test::synthetic_market m;
  const win_curve curve = estimate(observe_market(m, 3000, true));
  const auto table = factor_table(curve);
  for (std::size_t i = 0; i < value_levels; i += 7) {
    CHECK(table[i] / 10000.0 == Approx(best_factor(curve, grid_edge(i))).margin(1e-4));
    CHECK(table[i] >= search_min_factor * 10000 - 1);
    CHECK(table[i] <= 10000);
  }
}

TEST_CASE("a surplus tolerance bids the highest price within it of the best surplus",
          "[shading][unit]") {
  bidder::test::synthetic_market m;
  const win_curve curve = estimate(observe_market(m, 5000, true));
  // The expected surplus of factor f, as a share of the value, by the learned curve.
  auto surplus = [&](double value, double f) { return (1 - f) * curve.win_probability(f * value); };
  for (double value : {1.2, 2.0, 3.0, 5.0, 8.0}) {
    const double best = best_factor(curve, value);
    CHECK(best_factor(curve, value, 0) == best);
    for (double tolerance : {0.05, 0.1, 0.3}) {
      INFO("value " << value << ", tolerance " << tolerance);
      const double f = best_factor(curve, value, tolerance);
      // More wins (a higher price), for at most the tolerance of the best surplus...
      CHECK(f > best);
      CHECK(curve.win_probability(f * value) > curve.win_probability(best * value));
      CHECK(surplus(value, f) >= (1 - tolerance) * surplus(value, best) - 1e-12);
      // ... and the highest such price: every higher factor gives up more.
      for (double g = f + factor_step; g <= 1 + 1e-9; g += factor_step) {
        CHECK(surplus(value, g) < (1 - tolerance) * surplus(value, best));
      }
      // Against the true curve too, the surplus given up stays near the tolerance.
      CHECK(m.expected_surplus(value, f * value) >=
            (1 - tolerance - 0.05) * m.expected_surplus(value, m.best_bid(value)));
    }
  }
  const auto table = factor_table(curve, 0.1);
  for (std::size_t i = 0; i < value_levels; i += 7) {
    CHECK(table[i] / 10000.0 == Approx(best_factor(curve, grid_edge(i), 0.1)).margin(1e-4));
  }
}
