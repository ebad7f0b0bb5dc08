// File: tests/fuzz/demo.hpp
//
// What the fuzz targets run against: the embedded demo config compiled as `bidder serve` does,
// and a signer with a fixed key. A fuzz target has no test framework to report to: a failure
// here aborts, which libFuzzer reports.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/notice/signer.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"

namespace bidder::fuzz {

inline std::shared_ptr<const engine::snapshot> demo_snapshot() {
  pricing::registry registry;
  if (!models::register_builtin_models(registry)) std::abort();
  auto config = config::parse(config::demo_config_json(), "<demo>");
  if (!config) std::abort();
  auto built = engine::build_snapshot(**config, registry);
  if (!built) std::abort();
  return *built;
}

inline std::unique_ptr<notice::signer> fixed_key_signer() {
  auto s = notice::signer::from_key(std::string(notice::min_key_bytes, 'k'));
  if (!s) std::abort();
  return std::make_unique<notice::signer>(std::move(*s));
}

}  // namespace bidder::fuzz
