// File: bidder/app/audience_cli.hpp
//
// `bidder audience push|list|show|forget|compact`: campaign managers' commands, talking to a
// running bidder's admin API (docs/audience.md).
#pragma once

#include <string_view>
#include <vector>

namespace bidder::app {

/// Runs `bidder audience ARGS...`; returns the exit code (0 ok, 1 failed, 2 bad usage).
int run_audience_cli(const std::vector<std::string_view>& args);

}  // namespace bidder::app
