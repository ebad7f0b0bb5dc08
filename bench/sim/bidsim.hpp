// File: bench/sim/bidsim.hpp
//
// The `bidsim` command line over the simulator library: flags -> scenario and options, the
// writers of the bidder config and the audience files (and the audience push), the runs of the
// real bidder and of the in-process oracle and fixed-price bidders on the same market, and the
// reports. main() only calls run_bidsim(); tests call it directly. docs/bidsim.md is the manual.
//
// Exit codes: 0 success, 1 runtime failure (cannot write a file, a push refused), 2 bad usage.
//
//   std::vector<std::string> args{"--target", "http://127.0.0.1:8080/bid", "--days", "3"};
//   int rc = run_bidsim(args, std::cout, std::cerr);
//
// Thread-safety: run_bidsim may be called from any thread; it shares nothing.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace bidder::sim {

int run_bidsim(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace bidder::sim
