// File: bench/load/cpu_usage.hpp
//
// CPU use during a measured window: bidbench's own and, given its pid, the server's (exact
// scheduler run time from /proc/<pid>/task/*/schedstat, so "server CPU per request" is the
// efficiency figure that says what a request costs), plus each CPU's busy share and the steal
// time from /proc/stat. The per-CPU shares are tick-sampled by the kernel and can be far off for
// bursty loads (a CPU woken thousands of times a second is often sampled idle); trust own and
// server, read busy as a hint of other work on the machine.
//
//   cpu_snapshot before = take_cpu_snapshot(server_pid);
//   ... run ...
//   cpu_usage u = cpu_usage_between(before, take_cpu_snapshot(server_pid));
//
// Linux only; elsewhere the snapshot is empty and the usage reports nothing.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace bidder::bench {

struct cpu_snapshot {
  /// Per CPU: user nice system idle iowait irq softirq steal (clock ticks).
  std::vector<std::array<std::uint64_t, 8>> per_cpu;
  std::chrono::steady_clock::time_point at;
  double process_cpu_seconds = 0;
  /// The server's run time over all its threads; negative when unknown.
  double server_cpu_seconds = -1;
};

struct cpu_usage {
  /// Per CPU, the share of the window it was busy (not idle, not waiting for I/O), 0..1;
  /// tick-sampled (see above).
  std::vector<double> busy;
  /// Share of the window the hypervisor took from the CPUs, averaged over them, 0..1.
  double steal = 0;
  /// CPU time this process used, in CPUs (1.0 = one CPU for the whole window).
  double own = 0;
  /// CPU time the server used, in CPUs; negative when no server pid was given.
  double server = -1;
  /// Length of the window.
  double seconds = 0;
};

/// `server_pid` <= 0: no server figures.
cpu_snapshot take_cpu_snapshot(int server_pid = 0);
cpu_usage cpu_usage_between(const cpu_snapshot& before, const cpu_snapshot& after);

}  // namespace bidder::bench
