// File: bench/load/bidbench.hpp
//
// The `bidbench` command line over the load library: flags -> options, then the runs (floor,
// target, ramps), the data-set writers (--write-config, --write-audience, --fill-store) and
// the reports. main() only calls run_bidbench(); tests call parse_bidbench_args() and
// run_bidbench() directly.
//
// Exit codes: 0 success, 1 runtime failure (cannot connect, cannot write a file), 2 bad usage,
// 3 a --check bound failed.
//
//   std::vector<std::string> args{"--target", "http://127.0.0.1:8080/bid", "--rate", "20k"};
//   int rc = run_bidbench(args, std::cout, std::cerr);
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/load/traffic_generator.hpp"
#include "bidder/core/error.hpp"

namespace bidder::bench {

struct ramp_spec {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::uint64_t step = 0;
};

struct bidbench_options {
  std::string target = "http://127.0.0.1:8080/bid";
  bool target_given = false;
  std::string label = "target";
  std::uint64_t rate = 0;  // 0: closed loop (--rate max)
  bool rate_given = false;
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  bool duration_given = false;
  std::chrono::nanoseconds warmup = std::chrono::seconds(1);
  unsigned connections = 64;
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);

  // Workload.
  std::optional<std::string> requests_dir;
  bool generate = false;
  traffic_options traffic;
  std::size_t pool = 10'000;

  std::optional<ramp_spec> ramp;
  std::chrono::nanoseconds slo_p99 = std::chrono::milliseconds(5);

  std::optional<std::string> json_path;
  std::optional<std::string> html_path;
  std::optional<std::string> check_spec;

  bool floor = false;
  std::optional<unsigned> floor_cpu;
  std::optional<unsigned> cpu;
  /// The target server's pid (same machine): its CPU time per request is reported.
  int server_pid = 0;
  std::optional<std::string> serve_floor;  // HOST:PORT

  std::optional<std::string> write_config;
  std::optional<std::string> write_audience;
  std::optional<std::string> fill_store;

  bool help = false;
};

/// Parses the flags (without the program name). Errors: invalid_field naming the flag and what
/// it takes, e.g. "--rate: expected a number of requests per second (e.g. 20000, 50k) or max".
[[nodiscard]] result<bidbench_options> parse_bidbench_args(const std::vector<std::string>& args);

/// Runs bidbench; returns the exit code. Reports go to `out`, progress and errors to `err`.
int run_bidbench(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// The usage text.
std::string_view bidbench_usage() noexcept;

}  // namespace bidder::bench
