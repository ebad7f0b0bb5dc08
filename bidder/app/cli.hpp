// File: bidder/app/cli.hpp
//
// The `bidder` command line: `serve`, `check-config`, `help`. Returns the process exit code:
// 0 success, 1 runtime failure, 2 bad usage or bad config.
#pragma once

namespace bidder::app {

int run_cli(int argc, char** argv);

}  // namespace bidder::app
