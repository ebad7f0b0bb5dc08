#include "bidder/training/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "bidder/core/json_text.hpp"

namespace bidder::training {
namespace {

// A seeded Fisher-Yates shuffle with SplitMix64 draws: std::shuffle's sequence differs
// between standard libraries, and training must be reproducible anywhere.
void shuffle(std::vector<std::size_t>& order, std::uint64_t seed) {
  std::uint64_t state = seed;
  auto next = [&]() {
    state += 0x9e3779b97f4a7c15ULL;
    return mix64(state);
  };
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[next() % i]);
  }
}

constexpr std::int64_t ms_per_day = 86400000;

}  // namespace

void hash_example(const training_data& data, const example& e, std::uint64_t seed,
                  learning::hashed_features& out) noexcept {
  learning::hash_features(e.features, learning::campaign_hash(data.campaigns[e.campaign], seed),
                          seed, out);
}

result<trained> train(const training_data& data, const train_options& options) {
  if (options.bits < learning::min_table_bits || options.bits > learning::max_table_bits) {
    return make_error(errc::invalid_field, "--bits: must be " +
                                               std::to_string(learning::min_table_bits) + " to " +
                                               std::to_string(learning::max_table_bits));
  }
  if (!(options.holdout_share >= 0 && options.holdout_share < 1)) {
    return make_error(errc::invalid_field, "--holdout-share: must be in [0, 1)");
  }
  if (options.epochs == 0) return make_error(errc::invalid_field, "--epochs: must be >= 1");
  const std::vector<example>& all = data.examples;
  // The examples are in time order: the held-out ones are a suffix.
  std::size_t split = all.size();
  if (options.holdout_days > 0 && !all.empty()) {
    const std::int64_t last_day = all.back().time_ms / ms_per_day;
    const std::int64_t first_held = last_day - options.holdout_days + 1;
    split =
        static_cast<std::size_t>(std::partition_point(all.begin(), all.end(),
                                                      [&](const example& e) {
                                                        return e.time_ms / ms_per_day < first_held;
                                                      }) -
                                 all.begin());
  } else {
    split = all.size() - static_cast<std::size_t>(
                             std::floor(options.holdout_share * static_cast<double>(all.size())));
  }
  if (split == 0) {
    return make_error(errc::invalid_field, "no training examples (the log has " +
                                               std::to_string(all.size()) +
                                               " examples, all held out or none at all)");
  }
  const auto positives =
      std::count_if(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(split),
                    [](const example& e) { return e.label; });
  if (positives == 0) {
    return make_error(errc::invalid_field, "no positive training example (no " +
                                               std::string(learning::to_string(options.target)) +
                                               " among " + std::to_string(split) + ")");
  }

  ftrl learner(options.bits, options.ftrl);
  learning::hashed_features hashed;
  std::vector<std::size_t> order(split);
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::uint32_t epoch = 0; epoch < options.epochs; ++epoch) {
    // The first pass in time order (as it would have run online), later ones shuffled.
    if (epoch > 0) shuffle(order, options.seed * 0x100000001b3ULL + epoch);
    for (std::size_t i : order) {
      hash_example(data, all[i], options.seed, hashed);
      learner.update(hashed, all[i].label);
    }
  }

  trained out;
  out.model.bits = options.bits;
  out.model.seed = options.seed;
  out.model.target = options.target;
  out.model.examples = split;
  out.model.trained_at = options.now;
  out.model.segments.assign(data.segments.begin(), data.segments.end());
  out.model.weights = learner.weights();
  auto score = [&](std::size_t from, std::size_t to) {
    std::vector<double> predicted;
    predicted.reserve(to - from);
    for (std::size_t i = from; i < to; ++i) {
      hash_example(data, all[i], options.seed, hashed);
      predicted.push_back(out.model.predict(hashed));  // the stored (float) weights
    }
    std::unique_ptr<bool[]> labels(new bool[to - from]);
    for (std::size_t i = from; i < to; ++i) labels[i - from] = all[i].label;
    return measure(predicted, std::span<const bool>(labels.get(), to - from));
  };
  out.training = score(0, split);
  out.holdout = score(split, all.size());
  out.training_examples = split;
  out.holdout_examples = all.size() - split;

  std::string summary = "{\"target\":";
  append_json_string(summary, learning::to_string(options.target));
  summary += ",\"campaigns\":[";
  for (std::size_t i = 0; i < data.campaigns.size(); ++i) {
    if (i > 0) summary += ',';
    append_json_string(summary, data.campaigns[i]);
  }
  summary += "],\"epochs\":" + std::to_string(options.epochs) +
             ",\"training\":" + to_json(out.training) + ",\"holdout\":" + to_json(out.holdout) +
             "}";
  out.model.summary = std::move(summary);
  return out;
}

}  // namespace bidder::training
