#include "bidder/shading/shader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "bidder/core/atomic_file.hpp"
#include "bidder/core/background_thread.hpp"

namespace bidder::shading {
namespace {

// Prices a notice may report, USD CPM: anything outside is garbage, not a market.
constexpr double max_price = 1e5;
// The state file: its first line, and the most bytes it may take (a few KB per exchange).
constexpr std::string_view file_header = "bidder-shading 1";
constexpr std::size_t max_file_bytes = 16u << 20;

double unit(std::uint32_t draw) noexcept { return draw * (1.0 / 4294967296.0); }

bool sane_price(double p) noexcept { return std::isfinite(p) && p > 0 && p <= max_price; }

std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void append_number(std::string& out, double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out += ' ';
  out.append(buffer, end);
}

}  // namespace

std::size_t segment_of(std::int32_t device_type, std::int32_t w, std::int32_t h) noexcept {
  // 2: personal computer; 4: phone, 1: mobile/tablet (generic); the rest (tablet 5, connected
  // TV 3 and 7, set-top box 6, unknown 0) together.
  const std::size_t device = device_type == 2 ? 0 : (device_type == 4 || device_type == 1) ? 1 : 2;
  const bool small = w > 0 && h > 0 && std::int64_t{w} * h < 300 * 250;
  return device * 2 + (small ? 0 : 1);
}

void append_notice_field(std::string& out, std::size_t segment, std::uint8_t arm, double value) {
  char buffer[24];
  auto put = [&](auto number) {
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, number);
    out.append(buffer, r.ptr);
  };
  put(segment);
  out += '.';
  put(unsigned{arm});
  out += '.';
  put(std::llround(value * 1e6));
}

std::optional<notice_field> read_notice_field(std::string_view text) noexcept {
  std::uint64_t parts[3];
  for (int i = 0; i < 3; ++i) {
    const std::size_t dot = i < 2 ? text.find('.') : text.size();
    if (dot == std::string_view::npos || dot == 0 || dot > 12) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + dot, parts[i]);
    if (ec != std::errc() || end != text.data() + dot) return std::nullopt;
    text.remove_prefix(i < 2 ? dot + 1 : dot);
  }
  const double value = static_cast<double>(parts[2]) / 1e6;
  if (parts[0] >= segment_count || parts[1] >= arm_count || !sane_price(value)) {
    return std::nullopt;
  }
  return notice_field{static_cast<std::size_t>(parts[0]), static_cast<std::uint8_t>(parts[1]),
                      value};
}

decision exchange_state::shade(const params& p, std::size_t segment, double value,
                               std::uint32_t draw) const noexcept {
  if (p.mode == mode::off || !(value > 0) || segment >= segment_count) {
    return {value, arm_truthful};
  }
  const live_segment& s = live_[segment];
  const double u = unit(draw);
  const bool explore = u < p.exploration_share;
  // Exploring, the draw's position within the exploration share is a fresh uniform number.
  const double v = explore ? u / p.exploration_share : 0;
  double factor = 1;
  std::uint8_t arm = arm_truthful;
  if (p.mode == mode::factor) {
    arm = explore ? static_cast<std::uint8_t>(std::min<double>(v * factor_arms, factor_arms - 1))
                  : s.best_arm.load(std::memory_order_relaxed);
    if (arm >= factor_arms) arm = factor_arms - 1;
    factor = candidate_factors[arm];
  } else if (explore) {
    arm = arm_explore;
    factor = p.min_factor + (1 - p.min_factor) * v;
  } else if (s.learned.load(std::memory_order_relaxed) != 0) {
    arm = arm_learned;
    // Linear between the two value levels around the value.
    const double x = grid_position(value);
    const auto i = static_cast<std::size_t>(x);
    const double lo = s.factor[i].load(std::memory_order_relaxed);
    const double hi = s.factor[i + 1].load(std::memory_order_relaxed);
    factor = (lo + (hi - lo) * (x - static_cast<double>(i))) / 10000;
  }
  factor = std::clamp(factor, p.min_factor, 1.0);
  return {value * factor, arm};
}

void exchange_state::observe(const outcome& o) noexcept {
  if (o.segment >= segment_count || o.arm >= arm_count || !sane_price(o.bid) ||
      !sane_price(o.value)) {
    return;
  }
  live_segment& s = live_[o.segment];
  constexpr auto relaxed = std::memory_order_relaxed;
  double surplus = 0, paid = 0;
  if (o.won) {
    s.below[grid_cell(o.bid)].fetch_add(1, relaxed);
    // The processor refuses a clearing price above the bid; a garbage one counts as the bid.
    paid = sane_price(o.clearing) && o.clearing <= o.bid ? o.clearing : o.bid;
    surplus = std::max(0.0, o.value - paid);
  } else if (o.min_to_win && sane_price(*o.min_to_win) && *o.min_to_win > o.bid) {
    // The price to beat. One at or under our bid contradicts the loss (a floor, another reason,
    // or garbage): only the loss itself is then known.
    s.exact[grid_cell(*o.min_to_win)].fetch_add(1, relaxed);
  } else {
    s.above[grid_cell(o.bid)].fetch_add(1, relaxed);
  }
  if (o.won) {
    wins_.fetch_add(1, relaxed);
    value_won_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(o.value * 1e6)), relaxed);
    paid_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(paid * 1e6)), relaxed);
  } else {
    losses_.fetch_add(1, relaxed);
  }
  if (o.arm < factor_arms) {
    s.arm_outcomes[o.arm].fetch_add(1, relaxed);
    s.arm_surplus_micros[o.arm].fetch_add(static_cast<std::uint64_t>(std::llround(surplus * 1e6)),
                                          relaxed);
  }
}

exchange_state::totals exchange_state::outcome_totals() const noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  return {.wins = wins_.load(relaxed),
          .losses = losses_.load(relaxed),
          .value_won = static_cast<double>(value_won_micros_.load(relaxed)) / 1e6,
          .paid = static_cast<double>(paid_micros_.load(relaxed)) / 1e6};
}

exchange_state& book::find_or_make(std::string_view id) {
  for (const auto& x : exchanges_) {
    if (x->id() == id) return *x;
  }
  exchanges_.push_back(std::make_unique<exchange_state>(std::string(id)));
  return *exchanges_.back();
}

exchange_state& book::open(std::string_view id, const params& p) {
  std::lock_guard lock(mutex_);
  exchange_state* found = &find_or_make(id);
  found->min_observations_.store(p.min_observations, std::memory_order_relaxed);
  found->half_life_seconds_.store(p.half_life_seconds, std::memory_order_relaxed);
  found->surplus_tolerance_.store(p.surplus_tolerance, std::memory_order_relaxed);
  return *found;
}

void book::recompute(unix_seconds now) {
  std::lock_guard lock(mutex_);
  const double elapsed =
      last_recompute_ > 0 && now > last_recompute_ ? static_cast<double>(now - last_recompute_) : 0;
  last_recompute_ = std::max(last_recompute_, now);
  constexpr auto relaxed = std::memory_order_relaxed;
  for (const auto& x : exchanges_) {
    const double half_life = std::max(1.0, x->half_life_seconds_.load(relaxed));
    const double decay = std::pow(0.5, elapsed / half_life);
    for (std::size_t seg = 0; seg < segment_count; ++seg) {
      exchange_state::live_segment& live = x->live_[seg];
      exchange_state::estimate_segment& e = x->estimates_[seg];
      e.counts.scale(decay);
      for (std::size_t i = 0; i < grid_cells; ++i) {
        e.counts.exact[i] += live.exact[i].exchange(0, relaxed);
        e.counts.below[i] += live.below[i].exchange(0, relaxed);
        e.counts.above[i] += live.above[i].exchange(0, relaxed);
      }
      for (std::size_t a = 0; a < factor_arms; ++a) {
        e.arm_outcomes[a] = e.arm_outcomes[a] * decay + live.arm_outcomes[a].exchange(0, relaxed);
        e.arm_surplus[a] =
            e.arm_surplus[a] * decay +
            static_cast<double>(live.arm_surplus_micros[a].exchange(0, relaxed)) / 1e6;
      }
    }
    publish(*x);
  }
}

void book::publish(exchange_state& x) {
  constexpr auto relaxed = std::memory_order_relaxed;
  const double needed = x.min_observations_.load(relaxed);
  const double tolerance = x.surplus_tolerance_.load(relaxed);
  outcome_counts pooled;
  std::array<double, factor_arms> pooled_n{}, pooled_surplus{};
  for (const auto& e : x.estimates_) {
    pooled.add(e.counts);
    for (std::size_t a = 0; a < factor_arms; ++a) {
      pooled_n[a] += e.arm_outcomes[a];
      pooled_surplus[a] += e.arm_surplus[a];
    }
  }
  std::optional<std::array<std::uint16_t, value_levels>> pooled_table;
  if (pooled.total() >= needed) pooled_table = factor_table(estimate(pooled), tolerance);
  // The arm with the best mean surplus among those with enough outcomes; nullopt: none has.
  auto best = [](const std::array<double, factor_arms>& n,
                 const std::array<double, factor_arms>& surplus) -> std::optional<std::uint8_t> {
    std::optional<std::uint8_t> arm;
    double best_mean = -1;
    for (std::uint8_t a = 0; a < factor_arms; ++a) {
      if (n[a] < min_arm_outcomes) continue;
      const double mean = surplus[a] / n[a];
      if (mean > best_mean) {
        best_mean = mean;
        arm = a;
      }
    }
    return arm;
  };
  const std::optional<std::uint8_t> pooled_arm = best(pooled_n, pooled_surplus);
  for (std::size_t seg = 0; seg < segment_count; ++seg) {
    exchange_state::live_segment& live = x.live_[seg];
    const exchange_state::estimate_segment& e = x.estimates_[seg];
    std::optional<std::array<std::uint16_t, value_levels>> table;
    if (e.counts.total() >= needed) {
      table = factor_table(estimate(e.counts), tolerance);
    } else {
      table = pooled_table;
    }
    if (table) {
      for (std::size_t i = 0; i < value_levels; ++i) live.factor[i].store((*table)[i], relaxed);
    }
    live.learned.store(table ? 1 : 0, relaxed);
    const std::optional<std::uint8_t> arm = best(e.arm_outcomes, e.arm_surplus);
    live.best_arm.store(arm ? *arm : pooled_arm ? *pooled_arm : factor_arms - 1, relaxed);
  }
}

result<void> book::save(const std::string& path, unix_seconds now) {
  std::string text(file_header);
  text += "\nsaved " + std::to_string(now) + "\n";
  {
    std::lock_guard lock(mutex_);
    for (const auto& x : exchanges_) {
      for (std::size_t seg = 0; seg < segment_count; ++seg) {
        const exchange_state::estimate_segment& e = x->estimates_[seg];
        text += "segment " + x->id() + " " + std::to_string(seg);
        for (double v : e.counts.exact) append_number(text, v);
        for (double v : e.counts.below) append_number(text, v);
        for (double v : e.counts.above) append_number(text, v);
        for (double v : e.arm_outcomes) append_number(text, v);
        for (double v : e.arm_surplus) append_number(text, v);
        text += '\n';
      }
    }
  }
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
  text += "end ";
  text += sum;
  text += '\n';
  // A crash leaves either the old state or the new one, never half of one.
  if (auto written = replace_file_atomically(path, text); !written) {
    return make_error(errc::io_error, "cannot write " + path + ": " + written.error().message);
  }
  return {};
}

result<bool> book::load(const std::string& path, unix_seconds now) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;  // no state yet: shading starts cold
  std::string text;
  {
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return make_error(errc::io_error, "cannot read " + path);
    text = std::move(buffer).str();
  }
  auto corrupt = [&](const std::string& why) {
    return make_error(errc::invalid_field, path + ": " + why);
  };
  if (text.size() > max_file_bytes) return corrupt("larger than 16 MiB");
  // The checksum line covers every byte before it.
  const std::size_t end_line = text.rfind("end ");
  if (end_line == std::string::npos || !text.ends_with("\n")) return corrupt("no end line");
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx",
                static_cast<unsigned long long>(fnv1a(std::string_view(text).substr(0, end_line))));
  if (text.substr(end_line + 4, 16) != sum || text.size() != end_line + 4 + 16 + 1) {
    return corrupt("checksum does not match (truncated or altered)");
  }
  std::istringstream lines(text.substr(0, end_line));
  std::string line;
  if (!std::getline(lines, line) || line != file_header) return corrupt("not a shading state");
  unix_seconds saved = 0;
  if (!std::getline(lines, line) || !line.starts_with("saved ")) return corrupt("no saved time");
  {
    auto [p, ec] = std::from_chars(line.data() + 6, line.data() + line.size(), saved);
    if (ec != std::errc() || p != line.data() + line.size()) return corrupt("bad saved time");
  }
  struct parsed {
    std::string exchange;
    std::size_t segment;
    exchange_state::estimate_segment estimate;
  };
  std::vector<parsed> read;
  int number = 2;
  constexpr std::size_t numbers_per_line = 3 * grid_cells + 2 * factor_arms;
  while (std::getline(lines, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number);
    std::istringstream fields(line);
    std::string word, exchange;
    std::size_t segment = 0;
    if (!(fields >> word >> exchange >> segment) || word != "segment" || exchange.size() > 32 ||
        segment >= segment_count) {
      return corrupt(where + ": not a segment line");
    }
    std::array<double, numbers_per_line> v{};
    for (double& d : v) {
      std::string token;
      if (!(fields >> token)) return corrupt(where + ": too few numbers");
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
      if (ec != std::errc() || p != token.data() + token.size() || !std::isfinite(d) || d < 0 ||
          d > 1e15) {
        return corrupt(where + ": not a count: " + token.substr(0, 32));
      }
    }
    if (std::string extra; fields >> extra) return corrupt(where + ": too many numbers");
    parsed p{exchange, segment, {}};
    std::size_t k = 0;
    for (double& d : p.estimate.counts.exact) d = v[k++];
    for (double& d : p.estimate.counts.below) d = v[k++];
    for (double& d : p.estimate.counts.above) d = v[k++];
    for (double& d : p.estimate.arm_outcomes) d = v[k++];
    for (double& d : p.estimate.arm_surplus) d = v[k++];
    read.push_back(std::move(p));
  }
  // Valid as a whole: apply, decayed by the time the bidder was down.
  const double down = now > saved ? static_cast<double>(now - saved) : 0;
  std::lock_guard lock(mutex_);
  for (parsed& p : read) {
    exchange_state& x = find_or_make(p.exchange);
    const double decay =
        std::pow(0.5, down / std::max(1.0, x.half_life_seconds_.load(std::memory_order_relaxed)));
    p.estimate.counts.scale(decay);
    for (double& d : p.estimate.arm_outcomes) d *= decay;
    for (double& d : p.estimate.arm_surplus) d *= decay;
    x.estimates_[p.segment] = p.estimate;
  }
  for (const auto& x : exchanges_) publish(*x);
  return true;
}

book_keeper::book_keeper(std::shared_ptr<book> b, options o, std::ostream* log)
    : book_(std::move(b)), options_(std::move(o)), log_(log) {}

book_keeper::~book_keeper() { stop(); }

void book_keeper::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void book_keeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void book_keeper::run() {
  yield_to_bid_threads(background_priority::low);
  auto last_save = std::chrono::steady_clock::now();
  auto last_complaint = last_save - std::chrono::minutes(2);
  auto save = [&] {
    if (options_.path.empty()) return;
    if (auto r = book_->save(options_.path, wall_now()); !r && log_ != nullptr) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_complaint >= std::chrono::minutes(1)) {
        last_complaint = now;
        *log_ << "bidder: shading state not saved: " << r.error().message << "\n";
      }
    }
  };
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.period, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    book_->recompute(wall_now());
    const auto now = std::chrono::steady_clock::now();
    if (now - last_save >= options_.save_period) {
      last_save = now;
      save();
    }
    lock.lock();
  }
  lock.unlock();
  book_->recompute(wall_now());
  save();
}

}  // namespace bidder::shading
