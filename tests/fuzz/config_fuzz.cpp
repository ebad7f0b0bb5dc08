// libFuzzer target: the config loader (bidder/config/loader) on arbitrary text, and for a
// config that validates, the engine snapshot built from it (bidder/engine/snapshot) with the
// built-in pricing models, as `bidder serve` and a reload do.
// Seeds: deploy/demo/config.json and the configs in tests/config/loader_test.cpp.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bidder::pricing::registry* registry = [] {
    auto* r = new bidder::pricing::registry;
    if (!bidder::models::register_builtin_models(*r)) std::abort();
    return r;
  }();
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto config = bidder::config::parse(json, "<fuzz>");
  if (!config) {
    if (config.error().message.empty()) std::abort();
    return 0;
  }
  auto snap = bidder::engine::build_snapshot(**config, *registry);
  if (!snap && snap.error().message.empty()) std::abort();
  return 0;
}
