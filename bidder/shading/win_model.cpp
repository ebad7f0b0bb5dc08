#include "bidder/shading/win_model.hpp"

#include <algorithm>
#include <cmath>

namespace bidder::shading {
namespace {

// ln(grid_max_price / grid_min_price) / grid_cells: the log width of a cell.
const double cell_log_width = std::log(grid_max_price / grid_min_price) / grid_cells;
const double inverse_cell_log_width = 1.0 / cell_log_width;

}  // namespace

double grid_position(double price) noexcept {
  if (!(price > grid_min_price)) return 0;  // NaN too
  const double x = std::log(price / grid_min_price) * inverse_cell_log_width;
  return std::min(x, static_cast<double>(grid_cells) - 1e-9);
}

std::size_t grid_cell(double price) noexcept {
  return static_cast<std::size_t>(grid_position(price));
}

double grid_edge(std::size_t i) noexcept {
  return grid_min_price * std::exp(cell_log_width * static_cast<double>(i));
}

double outcome_counts::total() const noexcept {
  double sum = 0;
  for (std::size_t i = 0; i < grid_cells; ++i) sum += exact[i] + below[i] + above[i];
  return sum;
}

void outcome_counts::scale(double factor) noexcept {
  for (std::size_t i = 0; i < grid_cells; ++i) {
    exact[i] *= factor;
    below[i] *= factor;
    above[i] *= factor;
  }
}

void outcome_counts::add(const outcome_counts& other) noexcept {
  for (std::size_t i = 0; i < grid_cells; ++i) {
    exact[i] += other.exact[i];
    below[i] += other.below[i];
    above[i] += other.above[i];
  }
}

double win_curve::win_probability(double bid) const noexcept {
  if (!(bid > 0)) return 0;
  const double x = grid_position(bid);
  const auto c = static_cast<std::size_t>(x);
  double p = 0;
  for (std::size_t i = 0; i < c; ++i) p += cell[i];
  p += cell[c] * (x - static_cast<double>(c));
  return std::clamp(p, 0.0, 1.0);
}

namespace {

// The starting point of the self-consistency iterations. Wins and losses without min-to-win are
// "current status" data: they tell P(price to beat < bid) only at the bids made, and the EM
// keeps whatever split of the mass its start had where they do not tell. So it starts from
// the maximum-likelihood estimate of those alone, the isotonic regression (pool adjacent
// violators) of the win rate per bid cell, with the mass above the highest bid cell put in
// the last cell: below and above the bids the data covers, the curve is pessimistic and never
// invites a bid that no outcome supports. Exact outcomes (min-to-win) are added as they are.
std::array<double, grid_cells> starting_point(const outcome_counts& counts) {
  struct block {
    double weight, wins;
    std::size_t first, last;
  };
  std::array<block, grid_cells> blocks{};
  std::size_t n = 0;
  double censored = 0;
  for (std::size_t c = 0; c < grid_cells; ++c) {
    const double weight = counts.below[c] + counts.above[c];
    if (weight <= 0) continue;
    censored += weight;
    blocks[n++] = {weight, counts.below[c], c, c};
    while (n > 1 &&
           blocks[n - 2].wins / blocks[n - 2].weight >= blocks[n - 1].wins / blocks[n - 1].weight) {
      blocks[n - 2].weight += blocks[n - 1].weight;
      blocks[n - 2].wins += blocks[n - 1].wins;
      blocks[n - 2].last = blocks[n - 1].last;
      --n;
    }
  }
  std::array<double, grid_cells> start{};
  double below = 0;      // the estimated P(price to beat < the previous block's bids)
  std::size_t from = 0;  // the first cell the next increase may be spread over
  for (std::size_t b = 0; b < n; ++b) {
    const double rate = blocks[b].wins / blocks[b].weight;
    // The increase is somewhere in the cells since the previous block's: spread evenly (below
    // the lowest bids, all in their cell: nothing says a lower bid would win).
    const std::size_t to = blocks[b].first;
    if (b == 0) from = to;
    for (std::size_t c = from; c <= to; ++c) {
      start[c] += censored * (rate - below) / static_cast<double>(to - from + 1);
    }
    below = rate;
    from = blocks[b].last + 1 < grid_cells ? blocks[b].last + 1 : grid_cells - 1;
  }
  start[grid_cells - 1] += censored * (1 - below);
  double sum = 0;
  for (std::size_t c = 0; c < grid_cells; ++c) {
    start[c] += counts.exact[c] + prior_weight / grid_cells;
    sum += start[c];
  }
  for (double& p : start) p /= sum;
  return start;
}

}  // namespace

win_curve estimate(const outcome_counts& counts) {
  win_curve curve;
  curve.cell = starting_point(counts);
  std::array<double, grid_cells> below_weight{}, above_weight{}, next{};
  for (int iteration = 0; iteration < estimate_iterations; ++iteration) {
    // A win with the bid in cell c puts the price to beat in cells 0..c, in proportion to the
    // current estimate there; a loss without min-to-win, in cells c..end. Prefix and suffix
    // sums make one iteration O(cells).
    double from_above = 0;
    std::array<double, grid_cells> mass_to{};  // P(cells 0..c)
    double running = 0;
    for (std::size_t c = 0; c < grid_cells; ++c) {
      running += curve.cell[c];
      mass_to[c] = running;
    }
    double suffix = 0;
    for (std::size_t k = grid_cells; k-- > 0;) {
      if (counts.below[k] > 0 && mass_to[k] > 0) suffix += counts.below[k] / mass_to[k];
      below_weight[k] = suffix;
    }
    for (std::size_t i = 0; i < grid_cells; ++i) {
      const double mass_from = running - (i > 0 ? mass_to[i - 1] : 0.0);  // P(cells i..end)
      if (counts.above[i] > 0 && mass_from > 0) from_above += counts.above[i] / mass_from;
      above_weight[i] = from_above;
    }
    double sum = 0;
    for (std::size_t i = 0; i < grid_cells; ++i) {
      next[i] = counts.exact[i] + curve.cell[i] * (below_weight[i] + above_weight[i]) +
                prior_weight / grid_cells;
      sum += next[i];
    }
    for (std::size_t i = 0; i < grid_cells; ++i) curve.cell[i] = next[i] / sum;
  }
  return curve;
}

double best_factor(const win_curve& curve, double value, double tolerance) noexcept {
  if (!(value > 0)) return 1;
  constexpr int steps = static_cast<int>((1 - search_min_factor) / factor_step + 0.5);
  std::array<double, steps + 1> surplus{};
  double best = 1, best_surplus = 0;
  for (int k = 0; k <= steps; ++k) {
    const double f = search_min_factor + factor_step * k;
    surplus[k] = (1 - f) * curve.win_probability(f * value);
    if (surplus[k] > best_surplus) {
      best_surplus = surplus[k];
      best = f;
    }
  }
  if (!(tolerance > 0) || !(best_surplus > 0)) return best;
  // The highest factor still within the tolerance of the best surplus.
  const double enough = (1 - std::min(tolerance, 1.0)) * best_surplus;
  for (int k = steps; k >= 0; --k) {
    const double f = search_min_factor + factor_step * k;
    if (f <= best) break;
    if (surplus[k] >= enough) return f;
  }
  return best;
}

std::array<std::uint16_t, value_levels> factor_table(const win_curve& curve,
                                                     double tolerance) noexcept {
  std::array<std::uint16_t, value_levels> table{};
  for (std::size_t i = 0; i < value_levels; ++i) {
    table[i] = static_cast<std::uint16_t>(
        std::lround(best_factor(curve, grid_edge(i), tolerance) * 10000));
  }
  return table;
}

}  // namespace bidder::shading
