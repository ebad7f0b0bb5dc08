// File: tests/support/snapshot.hpp
//
// Compiles a config text into an engine snapshot with the built-in pricing models, as
// `bidder serve` does, failing the calling test with the parse or compile error.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"

namespace bidder::test {

/// The snapshot of the config `json` (ledger: as build_snapshot's). REQUIREs success.
inline std::shared_ptr<const engine::snapshot> compile_config(
    const std::string& json, std::shared_ptr<spend::ledger> ledger = nullptr) {
  pricing::registry registry;
  REQUIRE(models::register_builtin_models(registry));
  auto config = config::parse(json, "<test>");
  INFO(json);
  INFO((config ? std::string() : config.error().message));
  REQUIRE(config);
  auto snap = ledger ? engine::build_snapshot(**config, registry, std::move(ledger))
                     : engine::build_snapshot(**config, registry);
  INFO((snap ? std::string() : snap.error().message));
  REQUIRE(snap);
  return *snap;
}

}  // namespace bidder::test
