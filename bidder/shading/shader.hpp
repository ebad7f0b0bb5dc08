// File: bidder/shading/shader.hpp
//
// Bid shading for first-price auctions (docs/bid-shading.md): per exchange and segment (device
// class x slot size), what fraction of its value a bid offers.
//
// - LEARNED: the factor maximising (value - bid) x P(win | bid), where P comes from the
//   distribution of the highest competing bid (win_model.hpp), learned from the exchange's win
//   and loss notices. A segment with too few outcomes uses the exchange's pooled estimate; with
//   too few pooled as well it bids truthfully. A share of bids explores a random factor in
//   [min_factor, 1] all along, so the estimate follows the market.
// - FACTOR (the baseline): one of candidate_factors per segment, epsilon-greedy on the surplus
//   observed per bid (value - clearing price on a win, 0 on a loss).
//
// Threads: bid threads call exchange_state::shade() (relaxed atomic loads of a published
// table: no lock, no allocation, no I/O); notice threads call exchange_state::observe()
// (relaxed atomic adds to counters); one background thread (book_keeper) calls
// book::recompute(), which folds the counters into decayed estimates, re-estimates and
// publishes the tables, and book::save(). A table read while it is being published may mix
// old and new cells: each is a valid factor, so a bid stays within its bounds.
//
//   auto book = std::make_shared<shading::book>();
//   shading::exchange_state& x = book->open("fp-exchange", params);      // snapshot build
//   shading::decision d = x.shade(params, segment, value, draw);          // bid thread
//   x.observe({.segment = s, .arm = a, .value = v, .bid = b, .won = true, .clearing = c});
//   book->recompute(wall_now());                                          // background
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"
#include "bidder/shading/win_model.hpp"

namespace bidder::shading {

enum class mode : std::uint8_t { off, learned, factor };

/// An exchange's shading settings (config Shading, with its defaults).
struct params {
  shading::mode mode = mode::off;
  double min_factor = 0.3;
  double exploration_share = 0.05;
  double min_observations = 200;
  double half_life_seconds = 3600;
  /// LEARNED: bid the highest price whose expected surplus is within this share of the best
  /// (best_factor's tolerance).
  double surplus_tolerance = 0.1;
};

/// Segments: device class (desktop; phone or generic mobile; anything else) x slot size (under
/// 300x250; 300x250 or larger, or not a banner). Fixed and few, so each learns quickly.
inline constexpr std::size_t segment_count = 6;
/// The segment of a request's device type (OpenRTB list 5.21) and the bid's slot size (0x0: not
/// a banner).
std::size_t segment_of(std::int32_t device_type, std::int32_t w, std::int32_t h) noexcept;

/// FACTOR mode's candidates (each raised to min_factor when below it).
inline constexpr std::array<double, 6> candidate_factors = {0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
inline constexpr std::uint8_t factor_arms = candidate_factors.size();
/// Arms of LEARNED bids (FACTOR's are 0 .. factor_arms - 1, the candidate's index).
inline constexpr std::uint8_t arm_learned = 6;   // the learned factor
inline constexpr std::uint8_t arm_explore = 7;   // a random factor in [min_factor, 1]
inline constexpr std::uint8_t arm_truthful = 8;  // not enough outcomes yet: the value
inline constexpr std::uint8_t arm_count = 9;
/// Outcomes (decayed) a FACTOR arm needs before its mean surplus counts.
inline constexpr double min_arm_outcomes = 30;

struct decision {
  double price = 0;  // at most the value, at least min_factor x value
  std::uint8_t arm = arm_truthful;
};

/// One outcome of a shaded bid, as its notice tells it (prices in USD CPM).
struct outcome {
  std::size_t segment = 0;
  std::uint8_t arm = arm_truthful;
  double value = 0;  // the unshaded price
  double bid = 0;    // the price bid
  bool won = false;
  double clearing = 0;               // won: the price paid
  std::optional<double> min_to_win;  // lost: ${AUCTION_MIN_TO_WIN}, when the exchange shares it
};

/// The signed "s" field of a shaded bid's notice URLs: "<segment>.<arm>.<value, USD micros>".
/// Appends it to `out` (no allocation once `out` has room).
void append_notice_field(std::string& out, std::size_t segment, std::uint8_t arm, double value);
struct notice_field {
  std::size_t segment = 0;
  std::uint8_t arm = 0;
  double value = 0;
};
/// Reads a notice's "s" field; nullopt for anything malformed or out of range.
std::optional<notice_field> read_notice_field(std::string_view text) noexcept;

class book;

/// One exchange's state. Not copyable or movable (atomics); lives in a book.
class exchange_state {
 public:
  explicit exchange_state(std::string id) : id_(std::move(id)) {}

  /// The price to bid for `value` (> 0, USD CPM) in `segment` (< segment_count), with `draw`
  /// a uniform random 32-bit number. Mode off, or a value that is not positive: the value.
  /// Never above the value nor below min_factor x value. Bid threads; lock-free.
  decision shade(const params& p, std::size_t segment, double value,
                 std::uint32_t draw) const noexcept;
  /// Counts one outcome. Outcomes out of range (segment, arm, prices not positive or not
  /// finite) are ignored. Notice threads; lock-free.
  void observe(const outcome& o) noexcept;

  const std::string& id() const noexcept { return id_; }
  /// True when `segment` bids from a learned table (tests, metrics).
  bool learned(std::size_t segment) const noexcept {
    return live_[segment].learned.load(std::memory_order_relaxed) != 0;
  }
  /// The FACTOR arm `segment` plays when not exploring (tests, metrics).
  std::uint8_t best_arm(std::size_t segment) const noexcept {
    return live_[segment].best_arm.load(std::memory_order_relaxed);
  }

  /// Outcomes counted since start (metrics): what shading bought, by the bids' own values.
  struct totals {
    std::uint64_t wins = 0, losses = 0;
    double value_won = 0;  // sum of the values (USD CPM) of the bids won
    double paid = 0;       // sum of their clearing prices (USD CPM)
  };
  totals outcome_totals() const noexcept;

 private:
  friend class book;
  // Written by notice threads, drained and published by the background thread.
  struct live_segment {
    std::array<std::atomic<std::uint32_t>, grid_cells> exact{}, below{}, above{};
    std::array<std::atomic<std::uint32_t>, factor_arms> arm_outcomes{};
    std::array<std::atomic<std::uint64_t>, factor_arms> arm_surplus_micros{};
    // Published: LEARNED's factor per value level (1/10000), FACTOR's arm.
    std::array<std::atomic<std::uint16_t>, value_levels> factor{};
    std::atomic<std::uint8_t> learned{0};
    std::atomic<std::uint8_t> best_arm{factor_arms - 1};
  };
  // The decayed estimates: only the book's methods touch them (under its mutex).
  struct estimate_segment {
    outcome_counts counts;
    std::array<double, factor_arms> arm_outcomes{};
    std::array<double, factor_arms> arm_surplus{};
  };

  std::string id_;
  std::atomic<std::uint64_t> wins_{0}, losses_{0}, value_won_micros_{0}, paid_micros_{0};
  std::atomic<double> min_observations_{200};
  std::atomic<double> half_life_seconds_{3600};
  std::atomic<double> surplus_tolerance_{0.1};
  std::array<live_segment, segment_count> live_;
  std::array<estimate_segment, segment_count> estimates_;
};

/// Every exchange's state; shared by the snapshots (survives reloads). Thread-safe.
class book {
 public:
  /// The state of exchange `id`, made on first use, with its learning parameters set from `p`.
  /// The reference stays valid as long as the book. Control plane (takes the book's mutex).
  exchange_state& open(std::string_view id, const params& p);
  /// Folds the outcomes counted since the last call into the estimates (older ones decayed by
  /// the time since, at each exchange's half-life), re-estimates and publishes the tables. One
  /// background thread (and tests); takes the book's mutex.
  void recompute(unix_seconds now);
  /// Writes the estimates to `path` (a temporary file renamed over it). Errors: io_error.
  [[nodiscard]] result<void> save(const std::string& path, unix_seconds now);
  /// Reads estimates written by save() (decayed by the time since), replacing those of the
  /// exchanges it names, and publishes them. A missing file is not an error (false: nothing
  /// read). Errors: io_error (unreadable), invalid_field (corrupt: a bad checksum, line or
  /// number; the book is then left unchanged).
  [[nodiscard]] result<bool> load(const std::string& path, unix_seconds now);

 private:
  void publish(exchange_state& x);
  exchange_state& find_or_make(std::string_view id);  // under mutex_

  std::mutex mutex_;
  std::vector<std::unique_ptr<exchange_state>> exchanges_;
  unix_seconds last_recompute_ = 0;
};

/// Runs book::recompute() every `period` and book::save() every `save_period` (and once at
/// stop()) on a thread of its own, at background priority.
class book_keeper {
 public:
  struct options {
    std::string path;  // empty: never saved
    std::chrono::milliseconds period{2000};
    std::chrono::milliseconds save_period{30000};
  };
  /// `log` gets a line per failed save (at most one a minute).
  book_keeper(std::shared_ptr<book> b, options o, std::ostream* log);
  ~book_keeper();
  void start();
  void stop();

 private:
  void run();
  std::shared_ptr<book> book_;
  options options_;
  std::ostream* log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bidder::shading
