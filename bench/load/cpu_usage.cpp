#include "bench/load/cpu_usage.hpp"

#include <time.h>

#include <fstream>
#include <sstream>
#include <string>

namespace bidder::bench {

cpu_snapshot take_cpu_snapshot() {
  cpu_snapshot s;
  s.at = std::chrono::steady_clock::now();
  timespec ts{};
  if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0) {
    s.process_cpu_seconds = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  std::ifstream stat("/proc/stat");
  for (std::string line; std::getline(stat, line);) {
    // "cpu0 ..." lines, not the "cpu " total.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] < '0' || line[3] > '9') {
      continue;
    }
    std::istringstream fields(line.substr(line.find(' ')));
    std::array<std::uint64_t, 8> ticks{};
    for (auto& t : ticks) fields >> t;
    s.per_cpu.push_back(ticks);
  }
  return s;
}

cpu_usage cpu_usage_between(const cpu_snapshot& before, const cpu_snapshot& after) {
  cpu_usage u;
  const double wall = std::chrono::duration<double>(after.at - before.at).count();
  if (wall <= 0) return u;
  u.own = (after.process_cpu_seconds - before.process_cpu_seconds) / wall;
  if (before.per_cpu.size() != after.per_cpu.size() || before.per_cpu.empty()) return u;
  double steal = 0;
  for (std::size_t c = 0; c < before.per_cpu.size(); ++c) {
    std::array<double, 8> d{};
    double total = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      d[i] = static_cast<double>(after.per_cpu[c][i] - before.per_cpu[c][i]);
      total += d[i];
    }
    if (total <= 0) {
      u.busy.push_back(0);
      continue;
    }
    const double idle = d[3] + d[4];
    u.busy.push_back((total - idle) / total);
    steal += d[7] / total;
  }
  u.steal = steal / static_cast<double>(before.per_cpu.size());
  return u;
}

}  // namespace bidder::bench
