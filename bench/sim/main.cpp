// File: bench/sim/main.cpp
//
// `bidsim`, the market simulator: see bench/sim/bidsim.hpp, docs/bidsim.md and `bidsim --help`.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "bench/sim/bidsim.hpp"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    return bidder::sim::run_bidsim(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "bidsim: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "bidsim: unexpected error\n";
  }
  return 1;
}
