// File: bench/load/cpu_usage.hpp
//
// How busy the machine's CPUs were during a measured window, from /proc/stat, and how much of
// that was bidbench itself. A load figure is only as good as the machine was quiet: a CPU that
// is busier than the server (or bidbench) pinned to it explains a bad run, and steal time shows
// a noisy virtual-machine host.
//
//   cpu_snapshot before = take_cpu_snapshot();
//   ... run ...
//   cpu_usage u = cpu_usage_between(before, take_cpu_snapshot());
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
};

struct cpu_usage {
  /// Per CPU, the share of the window it was busy (not idle, not waiting for I/O), 0..1.
  std::vector<double> busy;
  /// Share of the window the hypervisor took from the CPUs, averaged over them, 0..1.
  double steal = 0;
  /// CPU time this process used, in CPUs (1.0 = one CPU for the whole window).
  double own = 0;
};

cpu_snapshot take_cpu_snapshot();
cpu_usage cpu_usage_between(const cpu_snapshot& before, const cpu_snapshot& after);

}  // namespace bidder::bench
