#include "bench/load/cpu_usage.hpp"

#include <time.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bidder::bench {

namespace {

// Sum of the first field (run time, ns) of every thread's schedstat; negative when unreadable.
double process_run_seconds(int pid) {
  std::error_code ec;
  double total = 0;
  bool any = false;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (std::filesystem::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
    std::ifstream in(it->path() / "schedstat");
    unsigned long long ns = 0;
    if (in >> ns) {
      total += static_cast<double>(ns) * 1e-9;
      any = true;
    }
  }
  return any ? total : -1;
}

}  // namespace

cpu_snapshot take_cpu_snapshot(int server_pid) {
  cpu_snapshot s;
  if (server_pid > 0) s.server_cpu_seconds = process_run_seconds(server_pid);
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
  u.seconds = wall;
  u.own = (after.process_cpu_seconds - before.process_cpu_seconds) / wall;
  if (before.server_cpu_seconds >= 0 && after.server_cpu_seconds >= 0) {
    u.server = (after.server_cpu_seconds - before.server_cpu_seconds) / wall;
  }
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
