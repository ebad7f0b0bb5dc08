// Micro-benchmarks of the event log (bidder/events): what append() costs a bid thread (1 and 2
// threads, with the writer draining to real files), what a drop costs when the queue is full,
// how many lines per second the writer turns into file bytes, and a paced run at the issue's
// 50,000 bids/s with rotation and fsync included. Files go to a temp dir, removed at exit.
// Run: build/bench/bench_event_log --benchmark_repetitions=3
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bidder/events/event_log.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder;
using namespace std::chrono_literals;

// A bid as the bid path would log it: UUID-sized auction id, our ids, a hashed user.
events::event typical_bid() {
  events::event e;
  e.kind = events::event_kind::bid;
  e.time_ms = events::unix_ms_now();
  e.auction_id = "6d92078a-8246-4ba4-ae5b-76104861e7dc";
  e.imp_id = "1";
  e.bid_id = "7f3a9c01d2e4b5a6-0";
  e.campaign_id = "auto-intenders";
  e.creative_id = "auto-banner-1";
  e.bid_price = money::from_micros(2'350'000);
  e.currency = "USD";
  e.exchange = "exchange-1";
  e.seat = "bidder";
  e.user_key_hash = 0x9f2c51d0a7b3e4c1ULL;
  e.device_type = 4;
  e.country = "USA";
  return e;
}

struct bench_dir {
  fs::path path = fs::temp_directory_path() / ("bench-event-log-" + std::to_string(::getpid()));
  bench_dir() { fs::create_directories(path); }
  ~bench_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path fresh(const std::string& name) const {
    std::error_code ec;
    fs::remove_all(path / name, ec);
    return path / name;
  }
};
const bench_dir& dir() {
  static bench_dir d;
  return d;
}

std::unique_ptr<events::event_log> open_log(const std::string& name,
                                            events::event_log_options options = {}) {
  options.dir = dir().fresh(name);
  auto log = events::event_log::open(std::move(options));
  if (!log) std::abort();
  return std::move(*log);
}

void BM_format_line(benchmark::State& state) {
  const events::event e = typical_bid();
  std::string line;
  for (auto _ : state) {
    line.clear();
    events::append_json_line(e, false, line);
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["line_bytes"] = static_cast<double>(line.size());
}
BENCHMARK(BM_format_line);

// append() into a queue with room: each thread times batches of `batch` appends, then waits
// (untimed) for the writer to drain them, so every timed append succeeds. Two threads contend
// for the queue's claim counter, as two bid threads would.
std::unique_ptr<events::event_log> shared_log;
void BM_append(benchmark::State& state) {
  constexpr int batch = 1024;
  if (state.thread_index() == 0) shared_log = open_log("append");
  const events::event e = typical_bid();
  std::int64_t dropped = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) dropped += shared_log->append(e) ? 0 : 1;
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    shared_log->flush();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["ns_per_append"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["dropped"] = static_cast<double>(dropped);
  if (state.thread_index() == 0) {
    shared_log->stop();
    shared_log.reset();
  }
}
BENCHMARK(BM_append)->Threads(1)->Threads(2)->UseManualTime();

// append() on a full queue (writer parked): the cost of a drop, which must stay as small.
void BM_append_when_full(benchmark::State& state) {
  auto log = open_log("full", {.queue_capacity = 1024});
  log->pause_writer_for_test();
  const events::event e = typical_bid();
  while (log->append(e)) {
  }
  for (auto _ : state) benchmark::DoNotOptimize(log->append(e));
  state.SetItemsProcessed(state.iterations());
  log->resume_writer_for_test();
}
BENCHMARK(BM_append_when_full);

// The writer alone: fill the queue with the writer parked, then time it from release to the
// last line handed to the OS (format + write; no fsync, as between rotations).
void BM_writer_lines_per_second(benchmark::State& state) {
  const auto events_per_run = static_cast<std::size_t>(state.range(0));
  auto log = open_log("writer", {.queue_capacity = events_per_run});
  const events::event e = typical_bid();
  for (auto _ : state) {
    log->pause_writer_for_test();
    for (std::size_t i = 0; i < events_per_run; ++i) {
      if (!log->append(e)) std::abort();
    }
    const auto start = std::chrono::steady_clock::now();
    log->resume_writer_for_test();
    log->flush();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events_per_run));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(events_per_run) *
                          static_cast<std::int64_t>(events::to_json_line(e).size()));
}
BENCHMARK(BM_writer_lines_per_second)->Arg(65536)->UseManualTime()->Unit(benchmark::kMillisecond);

// The target: 50,000 bids/s in all, from 1 or 2 bid threads (each paced to its share),
// for 3 s, files rotating every 4 MiB (about every 0.25 s; each rotation fsyncs the file and
// the directory). Reports drops and append latency quantiles (each sample includes one
// steady_clock read, about 20 ns here); a bid that waited would show as a long max.
void BM_paced_50k_per_second(benchmark::State& state) {
  constexpr int rate = 50'000;
  constexpr auto run_for = 3s;
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto log = open_log("paced", {.max_file_bytes = 4u << 20});
    std::vector<std::vector<std::int64_t>> samples(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const events::event e = typical_bid();
        auto& latency_ns = samples[static_cast<std::size_t>(t)];
        latency_ns.reserve(static_cast<std::size_t>(rate) * 4);
        const auto start = std::chrono::steady_clock::now();
        const auto step = std::chrono::nanoseconds(1'000'000'000LL * threads / rate);
        for (auto next = start; next - start < run_for; next += step) {
          while (std::chrono::steady_clock::now() < next) {
          }
          const auto t0 = std::chrono::steady_clock::now();
          log->append(e);
          latency_ns.push_back((std::chrono::steady_clock::now() - t0).count());
        }
      });
    }
    for (auto& w : workers) w.join();
    log->flush();
    const auto stats = log->stats();
    std::vector<std::int64_t> latency_ns;
    for (const auto& s : samples) latency_ns.insert(latency_ns.end(), s.begin(), s.end());
    std::sort(latency_ns.begin(), latency_ns.end());
    auto quantile = [&](double q) {
      return static_cast<double>(
          latency_ns[static_cast<std::size_t>(q * static_cast<double>(latency_ns.size() - 1))]);
    };
    state.counters["appended"] = static_cast<double>(latency_ns.size());
    state.counters["dropped"] = static_cast<double>(stats.dropped);
    state.counters["written"] = static_cast<double>(stats.written);
    state.counters["files"] = static_cast<double>(stats.files_opened);
    state.counters["p50_ns"] = quantile(0.5);
    state.counters["p99_ns"] = quantile(0.99);
    state.counters["p99.9_ns"] = quantile(0.999);
    state.counters["max_ns"] = static_cast<double>(latency_ns.back());
    log->stop();
  }
}
BENCHMARK(BM_paced_50k_per_second)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
