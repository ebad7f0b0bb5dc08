// File: tests/support/learned_model_file.hpp
//
// Writes small model files for the `learned` pricing model in tests: every weight zero (so
// P = 0.5 for any impression) except the ones given, keyed by the token they belong to.
//
//   bidder::test::temp_dir dir;
//   std::string path = bidder::test::write_learned_model(dir.path / "click.model",
//       {.segment_weights = {{"car-site-visitor", 2.0}}});
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bidder/learning/features.hpp"
#include "bidder/learning/model_file.hpp"

namespace bidder::test {

struct learned_model_spec {
  learning::model_target target = learning::model_target::click;
  std::uint32_t bits = 16;
  std::uint64_t seed = 7;
  double bias = 0;  ///< the shared bias's weight
  /// A weight on "g=<segment>" (the segment without its recency bucket).
  std::vector<std::pair<std::string, double>> segment_weights = {};
};

inline learning::model make_learned_model(const learned_model_spec& spec) {
  learning::model m;
  m.bits = spec.bits;
  m.seed = spec.seed;
  m.target = spec.target;
  m.summary = "{}";
  m.weights.assign(std::size_t{1} << spec.bits, 0.0f);
  m.weights[learning::text_hash("bias", spec.seed) & m.mask()] = static_cast<float>(spec.bias);
  for (const auto& [segment, weight] : spec.segment_weights) {
    m.segments.push_back(segment);
    m.weights[learning::text_hash("g=" + segment, spec.seed) & m.mask()] =
        static_cast<float>(weight);
  }
  return m;
}

inline std::string write_learned_model(const std::filesystem::path& path,
                                       const learned_model_spec& spec) {
  auto written = learning::write_model_file(make_learned_model(spec), path.string());
  if (!written) throw std::runtime_error(written.error().message);
  return path.string();
}

}  // namespace bidder::test
