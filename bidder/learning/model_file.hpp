// File: bidder/learning/model_file.hpp
//
// A learned model: a logistic regression over hashed features (features.hpp) with its weight
// table, and its versioned file format. `bidder train` writes one; the `learned` pricing model
// reads it when the config is loaded or reloaded (a file that is refused leaves the running
// config serving).
//
//   auto m = learning::read_model_file("models/auto-intenders.click.model");
//   if (!m) return m.error();            // the message says what is wrong with the file
//   double p = m->predict(hashed);        // P(click | impression)
//
// The file (little-endian): magic "BIDLRN\r\n", format version, feature version (features.hpp),
// table bits, target, hash seed, examples trained on, training time, a JSON summary (what it
// was trained on and how it scored on held-out data), the segment vocabulary, the weights
// (float32, 2^bits), and a 64-bit checksum of everything before it. A file of another format
// or feature version, cut short, with trailing bytes, a checksum mismatch or a weight that is
// not finite is refused with the reason.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/learning/features.hpp"

namespace bidder::learning {

inline constexpr std::uint32_t model_format_version = 1;
inline constexpr std::uint32_t min_table_bits = 8;
inline constexpr std::uint32_t max_table_bits = 26;

/// What the model predicts.
enum class model_target : std::uint32_t {
  click = 1,       ///< P(click | impression won)
  conversion = 2,  ///< P(attributed conversion | click)
};
std::string_view to_string(model_target t) noexcept;

struct model {
  std::uint32_t bits = 18;
  std::uint64_t seed = 0;
  model_target target = model_target::click;
  std::uint64_t examples = 0;         ///< training examples
  std::int64_t trained_at = 0;        ///< unix seconds
  std::string summary;                ///< JSON object text (training and held-out metrics)
  std::vector<std::string> segments;  ///< segment names seen in training
  std::vector<float> weights;         ///< 2^bits

  std::uint64_t mask() const noexcept { return (std::uint64_t{1} << bits) - 1; }
  /// The logit: the sum of the features' weights.
  double score(const hashed_features& f) const noexcept {
    double z = 0;
    const std::uint64_t m = mask();
    for (std::size_t i = 0; i < f.size; ++i) z += weights[f.items[i] & m];
    return z;
  }
  /// The predicted probability. noexcept, no allocation.
  double predict(const hashed_features& f) const noexcept { return sigmoid(score(f)); }

  static double sigmoid(double z) noexcept {
    if (z > 35) z = 35;
    if (z < -35) z = -35;
    return 1.0 / (1.0 + std::exp(-z));
  }
};

/// Reads and checks a model file. Errors: io_error (cannot read), invalid_config (the file is
/// not a model, of another version, damaged); the message names the file and the reason.
[[nodiscard]] result<model> read_model_file(const std::string& path);
/// Parses a model file's bytes (read_model_file without the file); `name` names it in errors.
[[nodiscard]] result<model> parse_model(std::string_view bytes, std::string_view name);
/// The file's bytes.
std::string serialize_model(const model& m);
/// Writes the file atomically (a temporary file, synced, renamed over `path`).
[[nodiscard]] result<void> write_model_file(const model& m, const std::string& path);

}  // namespace bidder::learning
