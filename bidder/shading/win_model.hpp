// File: bidder/shading/win_model.hpp
//
// The win curve of a first-price auction, learned from our own outcomes: the distribution of
// the highest competing bid (the price to beat) on a log price grid, estimated from censored
// observations, and the factor of the value that maximises the expected surplus
// (value - bid) x P(win | bid).
//
// Why a histogram of the highest competing bid, and not a fitted logistic or log-normal win
// curve: it assumes no shape (exchanges mix bidders, floors and deal prices into curves with
// several modes), it takes every kind of outcome as what it is (a loss with
// ${AUCTION_MIN_TO_WIN} gives the price to beat; a win says it was below our bid; a loss
// without min-to-win says it was at or above), the estimator (self-consistency, Turnbull's EM
// for interval-censored data) has no step size to tune and cannot diverge, and with a handful
// of outcomes a pseudo-count keeps it smooth. A parametric fit would extrapolate better with
// very few outcomes; the engine bids truthfully (plus exploration) until a segment has enough.
//
// Pure functions of plain values: no I/O, no locks, thread-compatible.
//
//   shading::outcome_counts counts;
//   counts.exact[shading::grid_cell(1.7)] += 1;    // lost; min-to-win 1.70
//   counts.below[shading::grid_cell(2.1)] += 1;    // won at 2.10
//   auto curve = shading::estimate(counts);
//   double f = shading::best_factor(curve, 3.0);   // bid 3.0 * f
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace bidder::shading {

/// The price grid (USD CPM): grid_cells cells, equal on a log scale, from grid_min_price to
/// grid_max_price (each about 15.5 % wider than the one below). Prices outside fall into the
/// first or the last cell.
inline constexpr std::size_t grid_cells = 64;
inline constexpr double grid_min_price = 0.01;
inline constexpr double grid_max_price = 100.0;

/// Where `price` sits on the grid, in cells (continuous), clamped to [0, grid_cells).
double grid_position(double price) noexcept;
/// The cell of `price` (floor of grid_position).
std::size_t grid_cell(double price) noexcept;
/// The lower edge of cell `i` (i = grid_cells: grid_max_price).
double grid_edge(std::size_t i) noexcept;

/// Outcomes of one segment, as (decayed) weights per cell of a price.
struct outcome_counts {
  /// Losses with min-to-win in the cell: the price to beat.
  std::array<double, grid_cells> exact{};
  /// Wins with our bid in the cell: the price to beat was lower.
  std::array<double, grid_cells> below{};
  /// Losses without min-to-win, our bid in the cell: the price to beat was at least that.
  std::array<double, grid_cells> above{};

  double total() const noexcept;
  void scale(double factor) noexcept;
  void add(const outcome_counts& other) noexcept;
};

/// The distribution of the highest competing bid: the probability of each grid cell.
struct win_curve {
  std::array<double, grid_cells> cell{};
  /// P(the highest competing bid is below `bid`): a first-price bid's chance of winning. Within
  /// a cell the probability is spread evenly on the log scale.
  double win_probability(double bid) const noexcept;
};

/// Pseudo-outcomes spread evenly over the grid: keep a thin estimate smooth and every cell
/// possible.
inline constexpr double prior_weight = 1.0;
/// Self-consistency iterations: the estimate moves by far under 1e-3 after them on the
/// markets of the tests.
inline constexpr int estimate_iterations = 60;

/// The maximum-likelihood distribution (Turnbull's self-consistency algorithm on the grid) of
/// the highest competing bid given `counts`.
win_curve estimate(const outcome_counts& counts);

/// The factors searched: search_min_factor to 1 by factor_step.
inline constexpr double search_min_factor = 0.05;
inline constexpr double factor_step = 0.01;

/// The factor f in [search_min_factor, 1] that maximises (1 - f) x P(win | f x value), i.e.
/// the expected surplus of bidding f x value. With a `tolerance` t in [0, 1): the highest
/// factor whose expected surplus is at least (1 - t) x that maximum. The surplus is flat near
/// its maximum, so a small t gives up little of it (at most t) for many more wins; worth it
/// when the values shaded are estimates, or when volume matters too (docs/bid-shading.md).
double best_factor(const win_curve& curve, double value, double tolerance = 0) noexcept;

/// Value levels of a lookup table: the grid's cell edges (level i is grid_edge(i)).
inline constexpr std::size_t value_levels = grid_cells + 1;
/// best_factor() at every value level, in 1/10000.
std::array<std::uint16_t, value_levels> factor_table(const win_curve& curve,
                                                     double tolerance = 0) noexcept;

}  // namespace bidder::shading
