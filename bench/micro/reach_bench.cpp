// Reach estimates at scale (issue 20): an audience store of --users keys (default 10 million)
// in four overlapping segments with varied last-seen times, pushed as pushes build them; then
//   - the time to open it with and without the reach sample (its build is one scan at open);
//   - for each expression, the sample's estimate with its 95% interval and its time (median of
//     --runs), against the exact count (one full scan) and its time.
//   build/bench/bench_reach [--users=10000000] [--runs=15] [--rate_log2=6] [--cache_mb=1024]
// The store goes in the system's temporary directory (~500 MB at 10 million) and is removed.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench/micro/generated_members.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/expression/text.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder::audience;
using clock_type = std::chrono::steady_clock;

constexpr std::int64_t now = 1'795'000'000;

std::uint64_t flag(int argc, char** argv, const char* name, std::uint64_t fallback) {
  const std::size_t length = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, length) == 0 && argv[i][length] == '=') {
      return std::strtoull(argv[i] + length + 1, nullptr, 10);
    }
  }
  return fallback;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

int fail(const bidder::error& e) {
  std::fprintf(stderr, "%s\n", e.message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t users = flag(argc, argv, "--users", 10'000'000);
  const std::uint64_t runs = std::max<std::uint64_t>(1, flag(argc, argv, "--runs", 15));
  // --no_sample=1: the pushes and the open without a sample, to see what it costs them.
  const int rate_log2 = flag(argc, argv, "--no_sample", 0) != 0
                            ? -1
                            : static_cast<int>(flag(argc, argv, "--rate_log2", 6));
  const std::uint64_t cache_mb = flag(argc, argv, "--cache_mb", 1024);
  const fs::path dir =
      fs::temp_directory_path() / ("bidder-reach-bench-" + std::to_string(std::random_device{}()));
  auto options = [&](int sample) {
    return rocksdb_options{.path = dir.string(),
                           .block_cache_bytes = cache_mb << 20,
                           .reach_sample_rate_log2 = sample,
                           .reach_sample_seed = 7};
  };
  {
    auto opened = rocksdb_store::open(options(rate_log2));
    if (!opened) return fail(opened.error());
    const std::vector<std::uint64_t> order = members::sorted_order(users);
    struct segment {
      const char* name;
      members::segment_shape shape;
    };
    const segment segments[] = {
        {"car", {.salt = 1, .percent = 30, .max_days_ago = 60}},
        {"affluent", {.salt = 2, .percent = 20, .max_days_ago = 60}},
        {"buyer", {.salt = 3, .percent = 15, .max_days_ago = 90}},
        {"acme-123", {.salt = 4, .percent = 5, .max_days_ago = 30}},
    };
    for (const segment& s : segments) {
      members::generated_source source(order, s.shape);
      const auto start = clock_type::now();
      auto pushed = (*opened)->update_segment(s.name, update_mode::replace, 0, source, now);
      if (!pushed) return fail(pushed.error());
      std::printf("push %-9s %9" PRIu64 " members: %.2f s\n", s.name, pushed->members,
                  seconds_since(start));
    }
  }
  double open_without = 0, open_with = 0;
  {
    const auto start = clock_type::now();
    auto opened = rocksdb_store::open(options(-1));
    if (!opened) return fail(opened.error());
    open_without = seconds_since(start);
  }
  if (rate_log2 < 0) {
    std::printf("users %" PRIu64 ", no sample; open %.2f s\n", users, open_without);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 0;
  }
  auto start = clock_type::now();
  auto opened = rocksdb_store::open(options(rate_log2));
  if (!opened) return fail(opened.error());
  open_with = seconds_since(start);
  rocksdb_store& store = **opened;
  auto everyone = bidder::expression::parse_text("any(car, affluent, buyer, acme-123)");
  auto stored = store.estimate_reach(*everyone, estimate_method::sample, now);
  if (!stored) return fail(stored.error());
  std::printf(
      "users %" PRIu64 " (%" PRIu64 " stored keys: those in a segment), sample 1/%d: %" PRIu64
      " keys; open without the sample %.2f s, with it %.2f s\n",
      users, stored->stored_keys, 1 << rate_log2, stored->sampled_keys, open_without, open_with);

  const char* expressions[] = {
      "car",
      "all(car@30, any(affluent, acme-123), not(buyer@45))",
      "any(all(car@7, affluent@7), all(acme-123, not(any(buyer, car))))",
      "all(acme-123@10, affluent, not(car))",
  };
  std::printf("%-66s %10s %10s %21s %9s %10s %8s\n", "expression", "exact", "estimate",
              "95% interval", "error", "sample ms", "exact s");
  for (const char* text : expressions) {
    auto tree = bidder::expression::parse_text(text);
    if (!tree) return fail(tree.error());
    std::vector<double> times;
    reach_estimate sampled;
    for (std::uint64_t r = 0; r < runs; ++r) {
      start = clock_type::now();
      auto e = store.estimate_reach(*tree, estimate_method::sample, now);
      times.push_back(seconds_since(start) * 1000);
      if (!e) return fail(e.error());
      sampled = *e;
    }
    std::sort(times.begin(), times.end());
    start = clock_type::now();
    auto exact = store.estimate_reach(*tree, estimate_method::exact, now);
    const double exact_seconds = seconds_since(start);
    if (!exact) return fail(exact.error());
    const double error =
        exact->matched == 0
            ? 0
            : (static_cast<double>(sampled.matched) - static_cast<double>(exact->matched)) /
                  static_cast<double>(exact->matched);
    char interval[48];
    std::snprintf(interval, sizeof interval, "[%" PRIu64 ", %" PRIu64 "]", sampled.low,
                  sampled.high);
    std::printf(
        "%-66s %10" PRIu64 " %10" PRIu64 " %21s %+8.2f%% %10.1f %8.2f%s\n", text, exact->matched,
        sampled.matched, interval, 100 * error, times[times.size() / 2], exact_seconds,
        sampled.low <= exact->matched && exact->matched <= sampled.high ? "" : "  (outside)");
  }
  opened->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
