// libFuzzer target: what the learning code reads from outside (bidder/learning, training):
// model files (parse_model over any bytes: refused, or accepted with a full, finite weight
// table that predicts a probability), and the features text of event log lines (hash_tokens
// and hash_features over any bytes never read past their fixed arrays).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bidder/learning/features.hpp"
#include "bidder/learning/model_file.hpp"

using namespace bidder::learning;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  hashed_features hashed;
  hash_features(in, campaign_hash("c", 1), 1, hashed);
  if (hashed.size > hashed.items.size()) std::abort();

  if (auto m = parse_model(in, "fuzz")) {
    if (m->weights.size() != (std::size_t{1} << m->bits)) std::abort();
    for (float w : m->weights) {
      if (!std::isfinite(w)) std::abort();
    }
    const double p = m->predict(hashed);
    if (!(p >= 0 && p <= 1)) std::abort();
    // What was accepted serialises back to the same bytes.
    if (serialize_model(*m) != in) std::abort();
  }
  return 0;
}
