// The whole bid handler on bidbench's generated traffic (1,000 campaigns, 30 % of users in a
// RocksDB audience, signed notice URLs): the CPU one bid request costs above HTTP framing, and
// the heap allocations it makes (the counter "allocs/req": malloc, calloc and realloc calls on
// the benchmark's thread, whoever makes them; RocksDB's own threads are not counted). Run:
//   build/bench/bench_bid_handler --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench/load/traffic_generator.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/http/bid_handler.hpp"
#include "bidder/notice/signer.hpp"
#include "models/builtin.hpp"

// Allocations made on this thread (the benchmark's), by any code: the bidder's, the standard
// library's (operator new calls malloc) and C libraries' such as OpenSSL's, which a counting
// operator new would miss. glibc's malloc is replaced by one that counts and calls glibc's own.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
}
namespace {
thread_local std::size_t allocations = 0;
}  // namespace

#if !defined(__SANITIZE_ADDRESS__)  // ASan owns malloc: no counting there (allocs/req 0)
extern "C" {
void* malloc(std::size_t size) {
  ++allocations;
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  ++allocations;
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
  ++allocations;
  return __libc_realloc(p, size);
}
}
#endif

namespace {

namespace fs = std::filesystem;
using namespace bidder;

constexpr std::uint64_t users = 20'000;

struct fixture {
  bench::traffic_generator traffic{{.seed = 1, .audience_hit = 0.3, .users = users}};
  fs::path dir;
  std::unique_ptr<audience::rocksdb_store> store;
  std::optional<engine::snapshot_holder> snapshots;
  std::optional<notice::signer> signer;
  std::vector<std::string> bodies;

  fixture() {
    pricing::registry models;
    if (!models::register_builtin_models(models)) std::abort();
    auto config = config::parse(traffic.config_json(), "bidbench");
    if (!config) std::abort();
    auto snap = engine::build_snapshot(**config, models);
    if (!snap) {
      std::fprintf(stderr, "bench_bid_handler: %s\n", snap.error().message.c_str());
      std::abort();
    }
    snapshots.emplace(*snap);
    dir = fs::temp_directory_path() / ("bidder-bench-" + std::to_string(std::random_device{}()));
    auto opened = audience::rocksdb_store::open({.path = dir.string()});
    if (!opened) std::abort();
    store = std::move(*opened);
    const std::int64_t now = wall_now();
    traffic.for_each_member(now, [&](const bench::audience_member& m) {
      std::vector<audience::membership> segments;
      for (const auto& s : m.segments) segments.push_back({s.segment, s.last_seen});
      if (!store->write_user(m.key, segments)) std::abort();
    });
    auto s = notice::signer::random();
    if (!s) std::abort();
    signer.emplace(std::move(*s));
    for (int i = 0; i < 2000; ++i) bodies.push_back(traffic.next_request());
  }
  ~fixture() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

fixture& shared_fixture() {
  static fixture f;
  return f;
}

// POST /bid through bid_handler::handle: decode, auction (targeting, audience look-up,
// pricing), notice signatures, the JSON answer.
void BM_bid_handler(benchmark::State& state) {
  fixture& f = shared_fixture();
  const engine::auction_services services{.signer = &*f.signer, .user_hash_secret = 7};
  http::bid_handler handler(*f.snapshots, f.store.get(), 0, 1, 256 * 1024, services);
  http::request req;
  req.method(boost::beast::http::verb::post);
  req.target("/bid");
  req.version(11);
  req.set(boost::beast::http::field::content_type, "application/json");
  http::response res;
  std::size_t next = 0, counted = 0, requests = 0, bids = 0;
  for (auto _ : state) {
    req.body().assign(f.bodies[next]);
    next = next + 1 == f.bodies.size() ? 0 : next + 1;
    res.clear();
    res.body().clear();
    res.result(boost::beast::http::status::ok);
    const std::size_t before = allocations;
    handler.handle(req, steady_clock::now(), res);
    counted += allocations - before;
    ++requests;
    if (res.result() == boost::beast::http::status::ok) ++bids;
    benchmark::DoNotOptimize(res.body().data());
  }
  state.counters["allocs/req"] = static_cast<double>(counted) / static_cast<double>(requests);
  state.counters["bid_share"] = static_cast<double>(bids) / static_cast<double>(requests);
}
BENCHMARK(BM_bid_handler);

}  // namespace

BENCHMARK_MAIN();
