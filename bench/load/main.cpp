// File: bench/load/main.cpp
//
// `bidbench`, the load harness: see bench/load/bidbench.hpp and `bidbench --help`.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "bench/load/bidbench.hpp"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    return bidder::bench::run_bidbench(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "bidbench: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "bidbench: unexpected error\n";
  }
  return 1;
}
