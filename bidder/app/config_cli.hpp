// File: bidder/app/config_cli.hpp
//
// `bidder config export [--admin URL] [--token TOKEN] [--out FILE]`: writes the running bidder's
// current campaign revision as a config file (GET /admin/config/export) that `bidder
// check-config` accepts, so what the campaign API changed can go back into the file
// (docs/console.md). --admin defaults to http://127.0.0.1:8081, --token to $BIDDER_ADMIN_TOKEN,
// --out to stdout.
#pragma once

#include <string_view>
#include <vector>

namespace bidder::app {

/// Runs `bidder config ...` (args after "config"); returns the exit code.
int run_config_cli(const std::vector<std::string_view>& args);

}  // namespace bidder::app
