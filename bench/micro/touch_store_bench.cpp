// The touch store at scale (issue 15): records --users users with --touches touches each (the
// newest views and clicks of a user, as notices record them, in batches of 1,000 writes), then
// compacts, and prints the store's size per user and the latency of --lookups random user
// look-ups (the attribution read): mean, p50, p99, p99.9.
//   build/bench/bench_touch_store [--users=10000000] [--touches=4] [--lookups=200000]
//                                 [--dir=/tmp/touch-bench]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bidder/conversions/conversion_store.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder::conversions;
using clock_type = std::chrono::steady_clock;

std::uint64_t user_hash(std::uint64_t i) {
  // splitmix64: spreads the users over the key space as real hashes do.
  std::uint64_t z = i + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a long run's lines so far survive a timeout
  std::size_t users = 1'000'000, touches = 4, lookups = 200'000;
  fs::path dir = fs::temp_directory_path() / ("touch-bench-" + std::to_string(::getpid()));
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      const std::string prefix = std::string("--") + name + "=";
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("users"))
      users = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("touches"))
      touches = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("lookups"))
      lookups = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("dir"))
      dir = v;
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  fs::remove_all(dir);
  auto store = conversion_store::open({.dir = dir});
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  const bidder::unix_seconds t0 = bidder::wall_now() - 86'400;
  const auto start = clock_type::now();
  std::vector<touch_write> batch;
  char bid[32];
  for (std::size_t round = 0; round < touches; ++round) {
    for (std::size_t u = 0; u < users; ++u) {
      std::snprintf(bid, sizeof bid, "%08zx-%zu-%zx", u, round, u * 7 + round);
      touch t{.kind = round % 4 == 3 ? touch_kind::click : touch_kind::view,
              .at = t0 + static_cast<bidder::unix_seconds>(round * 3600 + u % 3600),
              .bid_id = bid,
              .campaign_id = round % 2 == 0 ? "auto-intenders" : "luxury-retargeting",
              .creative_id = "banner-300x250",
              .exchange = "x1",
              .currency = "USD",
              .price_micros = 1'850'000};
      batch.push_back({std::move(t), {user_hash(u)}});
      if (batch.size() == 1000) {
        if (!(*store)->record(batch)) return 1;
        batch.clear();
      }
    }
  }
  if (!batch.empty() && !(*store)->record(batch)) return 1;
  const double write_s = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("recorded %zu touches in %.1f s; compacting...\n", users * touches, write_s);
  if (!(*store)->compact()) return 1;
  const double total_s = std::chrono::duration<double>(clock_type::now() - start).count();
  const std::uint64_t bytes = dir_bytes(dir);
  std::printf(
      "users %zu, touches/user %zu: recorded in %.1f s (%.0f touches/s), compacted at %.1f s\n",
      users, touches, write_s, static_cast<double>(users * touches) / write_s, total_s);
  std::printf("store: %.1f MB on disk, %.1f bytes per user (user lists and bid index)\n",
              static_cast<double>(bytes) / 1e6,
              static_cast<double>(bytes) / static_cast<double>(users));

  std::mt19937_64 rng(42);
  std::vector<double> micros;
  micros.reserve(lookups);
  std::size_t found = 0;
  for (std::size_t i = 0; i < lookups; ++i) {
    const std::uint64_t u = rng() % users;
    const auto t = clock_type::now();
    auto list = (*store)->touches_of_user(user_hash(u));
    micros.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t).count());
    if (list && !list->empty()) ++found;
  }
  std::sort(micros.begin(), micros.end());
  double sum = 0;
  for (double m : micros) sum += m;
  auto at = [&](double q) { return micros[static_cast<std::size_t>(q * (micros.size() - 1))]; };
  std::printf("look-ups: %zu (%zu found): mean %.1f us, p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
              lookups, found, sum / static_cast<double>(micros.size()), at(0.5), at(0.99),
              at(0.999));
  store->reset();
  fs::remove_all(dir);
  return found == lookups ? 0 : 1;
}
