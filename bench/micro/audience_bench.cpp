// Audience store figures for issue 3, on a store built the way pushes build it:
//   build/bench/bench_audience [--users=10000000] [--cache_mb=2048] [--lookups=2000000]
//                              [--row_cache_mb=0] [--user_cache_mb=0] [--hyper_clock=1]
//                              [--block_size=4096] ...
//                              [Google Benchmark flags, e.g. --benchmark_repetitions=3]
// Prints the time to push the users (one replace, sorted stream -> SST -> ingest), then the
// latency of bid-path look-ups (kBlockCacheTier) for hits and misses: mean, p50, p99, p99.9,
// measured one by one with steady_clock into a log histogram. Then look-ups of the same kinds run
// as Google Benchmark cases (BM_audience_lookup/users:N/hit:0|1: time per look-up, for
// bench/run-all and --benchmark_out). Keys are uniformly random, the worst case for caches
// (real traffic has hot users).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench/micro/generated_members.hpp"
#include "bidder/audience/member_sorter.hpp"
#include "bidder/audience/rocksdb_store.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder::audience;
using clock_type = std::chrono::steady_clock;

using members::key_of;

struct histogram {
  std::vector<std::uint64_t> buckets = std::vector<std::uint64_t>(4096, 0);  // 10 ns buckets
  std::uint64_t count = 0, sum_ns = 0, max_ns = 0;
  void add(std::uint64_t ns) {
    buckets[std::min<std::uint64_t>(ns / 10, buckets.size() - 1)]++;
    ++count;
    sum_ns += ns;
    max_ns = std::max(max_ns, ns);
  }
  double percentile(double p) const {
    const auto target = static_cast<std::uint64_t>(p * static_cast<double>(count));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      seen += buckets[b];
      if (seen > target) return static_cast<double>(b * 10 + 5) / 1000.0;
    }
    return static_cast<double>(max_ns) / 1000.0;
  }
};

std::uint64_t flag(int argc, char** argv, const char* name, std::uint64_t fallback) {
  const std::size_t length = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, length) == 0 && argv[i][length] == '=') {
      return std::strtoull(argv[i] + length + 1, nullptr, 10);
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // takes its --benchmark_* flags; ours stay in argv
  const std::uint64_t users = flag(argc, argv, "--users", 10'000'000);
  const std::uint64_t cache_mb = flag(argc, argv, "--cache_mb", 2048);
  const std::uint64_t lookups = flag(argc, argv, "--lookups", 2'000'000);
  const std::uint64_t block_size = flag(argc, argv, "--block_size", 4096);
  const bool hyper_clock = flag(argc, argv, "--hyper_clock", 1) != 0;
  const int restart_interval = static_cast<int>(flag(argc, argv, "--restart_interval", 16));
  const double hash_ratio =
      static_cast<double>(flag(argc, argv, "--hash_ratio_percent", 75)) / 100.0;
  const std::uint64_t row_cache_mb = flag(argc, argv, "--row_cache_mb", 0);
  const std::uint64_t user_cache_mb = flag(argc, argv, "--user_cache_mb", 0);
  const fs::path dir = fs::temp_directory_path() /
                       ("bidder-audience-bench-" + std::to_string(std::random_device{}()));

  auto opened = rocksdb_store::open({.path = dir.string(),
                                     .block_cache_bytes = cache_mb << 20,
                                     .block_size_bytes = block_size,
                                     .block_restart_interval = restart_interval,
                                     .data_block_hash_ratio = hash_ratio,
                                     .hyper_clock_cache = hyper_clock,
                                     .row_cache_bytes = row_cache_mb << 20,
                                     .user_cache_bytes = user_cache_mb << 20});
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  auto& store = **opened;

  // Keys sorted as strings: sort the indices by their key once.
  const std::vector<std::uint64_t> order = members::sorted_order(users);
  members::generated_source source(order);
  const auto push_start = clock_type::now();
  auto pushed = store.update_segment("bench", update_mode::replace, 0, source, 1'795'000'000);
  const double push_seconds = std::chrono::duration<double>(clock_type::now() - push_start).count();
  if (!pushed) {
    std::fprintf(stderr, "%s\n", pushed.error().message.c_str());
    return 1;
  }
  if (flag(argc, argv, "--compact", 0) != 0) {
    const auto compact_start = clock_type::now();
    if (auto r = store.compact(); !r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return 1;
    }
    if (auto r = store.warm_cache(); !r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return 1;
    }
    std::printf("compact + warm: %.2f s\n",
                std::chrono::duration<double>(clock_type::now() - compact_start).count());
  }
  std::printf("users %" PRIu64 ", block cache %" PRIu64 " MiB (%s), block size %" PRIu64
              ", restart interval %d, hash ratio %.2f\n",
              users, cache_mb, hyper_clock ? "HyperClockCache" : "LRU", block_size,
              restart_interval, hash_ratio);
  std::printf("push (replace, sorted stream -> SST -> ingest + warm): %.2f s, %.0f members/s\n",
              push_seconds, static_cast<double>(users) / push_seconds);

  if (row_cache_mb != 0) {
    const auto warm_start = clock_type::now();
    auto warmed = store.warm_row_cache();
    if (!warmed) {
      std::fprintf(stderr, "%s\n", warmed.error().message.c_str());
      return 1;
    }
    const auto usage = store.caches();
    std::printf("row cache warm: %" PRIu64
                " users in %.2f s, %.0f MiB of %.0f MiB held "
                "(%.0f bytes per user)\n",
                *warmed, std::chrono::duration<double>(clock_type::now() - warm_start).count(),
                static_cast<double>(usage.row_cache_bytes) / (1 << 20),
                static_cast<double>(usage.row_cache_capacity) / (1 << 20),
                static_cast<double>(usage.row_cache_bytes) / static_cast<double>(*warmed));
  }
  if (user_cache_mb != 0) {
    // The push emptied the user cache (it wrote every user): fill it as bids would, one
    // look-up per user, then report what it holds.
    const auto fill_start = clock_type::now();
    std::vector<membership_view> views;
    for (std::uint64_t i = 0; i < users; ++i) {
      views.clear();
      (void)store.lookup(key_of(i), 1'795'000'000, views);
    }
    const auto held = store.count_user_cache();
    std::printf("user cache: %" PRIu64 " MiB, %zu users held of %" PRIu64
                " (filled by one look-up each in %.2f s)\n",
                user_cache_mb, held.present, users,
                std::chrono::duration<double>(clock_type::now() - fill_start).count());
  }
  std::mt19937_64 rng(42);
  std::vector<membership_view> out;
  std::string key;
  auto random_key = [&](bool hit) {
    return hit ? key_of(rng() % users) : "user:missing-" + std::to_string(rng());
  };
  for (const bool hit : {true, false}) {
    histogram h;
    std::uint64_t found = 0, cold = 0;
    for (std::uint64_t n = 0; n < lookups; ++n) {
      key = random_key(hit);
      out.clear();
      const auto start = clock_type::now();
      const lookup_status status = store.lookup(key, 1'795'000'000, out);
      const auto ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count());
      h.add(ns);
      found += status == lookup_status::found;
      cold += status == lookup_status::not_in_memory;
    }
    std::printf(
        "lookup %-4s: mean %.2f us, p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.1f us "
        "(found %" PRIu64 ", not in memory %" PRIu64 " of %" PRIu64 ")\n",
        hit ? "hit" : "miss", static_cast<double>(h.sum_ns) / static_cast<double>(h.count) / 1000.0,
        h.percentile(0.50), h.percentile(0.99), h.percentile(0.999),
        static_cast<double>(h.max_ns) / 1000.0, found, cold, lookups);
  }

  // Look-ups of the same kinds for Google Benchmark: 64 Ki random keys of each made beforehand
  // and cycled, so only the look-up is timed; found_share tells a hit case that missed.
  for (const bool hit : {true, false}) {
    std::vector<std::string> keys(std::size_t{1} << 16);
    for (std::string& k : keys) k = random_key(hit);
    const std::string name =
        "BM_audience_lookup/users:" + std::to_string(users) + "/hit:" + (hit ? "1" : "0");
    benchmark::RegisterBenchmark(name.c_str(), [&store,
                                                keys = std::move(keys)](benchmark::State& state) {
      std::vector<membership_view> views;
      std::size_t next = 0;
      std::int64_t found = 0;
      for (auto _ : state) {
        views.clear();
        auto status = store.lookup(keys[next++ & (keys.size() - 1)], 1'795'000'000, views);
        found += status == lookup_status::found;
        benchmark::DoNotOptimize(status);
      }
      // A "hit" case that found its keys not in memory would time the fast failure path.
      state.counters["found_share"] =
          benchmark::Counter(static_cast<double>(found) / static_cast<double>(state.iterations()));
    });
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  opened->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
