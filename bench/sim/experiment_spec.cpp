// File: bench/sim/experiment_spec.cpp
//
// The checks of a scenario's experiments (market.hpp): the same rules as the bidder's config
// loader (proto/bidder/config/v1/config.proto, Experiment), so that a bad scenario is refused by
// bidsim with the field's path rather than by the bidder when it loads the config bidsim wrote.
#include <set>
#include <string>

#include "bench/sim/market.hpp"

namespace bidder::sim {
namespace {

// The config's limits (config.proto: Experiment.arms, Experiment.id, ExperimentArm.id).
constexpr std::size_t min_arms = 2;
constexpr std::size_t max_arms = 8;
constexpr std::size_t max_id_length = 64;

bool url_safe_id(const std::string& id) {
  if (id.empty() || id.size() > max_id_length) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> validate_experiments(const scenario& s) {
  std::set<std::string> experiment_ids, in_experiment;
  for (std::size_t e = 0; e < s.experiments.size(); ++e) {
    const experiment_spec& x = s.experiments[e];
    const std::string path = "experiments[" + std::to_string(e) + "].";
    if (!url_safe_id(x.id)) return path + "id: 1-64 characters of [A-Za-z0-9._~-]";
    if (!experiment_ids.insert(x.id).second) return path + "id: \"" + x.id + "\" twice";
    if (x.campaigns.empty()) return path + "campaigns: at least one";
    for (std::size_t c = 0; c < x.campaigns.size(); ++c) {
      const std::string& id = x.campaigns[c];
      const std::string where = path + "campaigns[" + std::to_string(c) + "]: \"" + id + "\"";
      bool known = false;
      for (const campaign_spec& spec : s.campaigns) known = known || spec.id == id;
      if (!known) return where + " is not a campaign of the scenario";
      if (!in_experiment.insert(id).second) return where + " is in another experiment already";
    }
    if (x.arms.size() < min_arms || x.arms.size() > max_arms) return path + "arms: 2 to 8";
    const double max_share = 1.0 / static_cast<double>(x.arms.size());
    std::set<std::string> arm_ids;
    for (std::size_t a = 0; a < x.arms.size(); ++a) {
      const experiment_arm_spec& arm = x.arms[a];
      const std::string arm_path = path + "arms[" + std::to_string(a) + "].";
      if (!url_safe_id(arm.id)) return arm_path + "id: 1-64 characters of [A-Za-z0-9._~-]";
      if (!arm_ids.insert(arm.id).second) return arm_path + "id: \"" + arm.id + "\" twice";
      // The loader's tolerance: 0.3333333333 is a share of one of three arms.
      if (!(arm.share > 0) || arm.share > max_share + 1e-9) {
        return arm_path + "share: above 0 and at most 1 / (number of arms)";
      }
      if (arm.holdout && !arm.pricing_json.empty()) {
        return arm_path + "pricing: a holdout arm never bids, so it has no pricing";
      }
    }
  }
  return std::nullopt;
}

}  // namespace bidder::sim
