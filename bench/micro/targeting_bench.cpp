// Micro-benchmarks of campaign selection at scale (issue 4): the auction (targeting, audience
// match, pricing, spend checks) over 10 / 1,000 / 10,000 generated campaigns, on bidbench's
// generated traffic, and each pricing model on its own.
// Run: build/bench/bench_targeting --benchmark_repetitions=3
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

#include "bench/load/audience_fill.hpp"
#include "bench/load/traffic_generator.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/learning/model_file.hpp"
#include "bidder/openrtb/json_decoder.hpp"
#include "models/builtin.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder;

constexpr std::uint64_t audience_users = 100'000;
constexpr std::size_t pool_size = 512;

std::shared_ptr<const engine::snapshot> snapshot_of(std::string_view config_json) {
  pricing::registry models;
  if (!models::register_builtin_models(models)) std::abort();
  auto config = config::parse(config_json, "bench");
  if (!config) {
    std::fprintf(stderr, "config: %s\n", config.error().message.c_str());
    std::abort();
  }
  auto built = engine::build_snapshot(**config, models);
  if (!built) std::abort();
  return *built;
}

// A click model for the learned pricing model: a full 2^18 table of small seeded weights (so
// look-ups touch a realistic 1 MiB, not a zero page), written once to a temporary file that
// lives until the process ends.
const std::string& learned_model_path() {
  static const std::string path = [] {
    learning::model m;
    m.bits = 18;
    m.seed = 1;
    m.summary = "{}";
    m.segments = {"seg-a", "seg-b", "seg-c"};
    std::mt19937 rng(1);
    std::normal_distribution<float> weight(0.0f, 0.3f);
    m.weights.resize(std::size_t{1} << m.bits);
    for (float& w : m.weights) w = weight(rng);
    m.weights[learning::text_hash("bias", m.seed) & m.mask()] = -4.0f;
    const std::string file = (fs::temp_directory_path() /
                              ("bidder-bench-learned-" + std::to_string(::getpid()) + ".model"))
                                 .string();
    if (!learning::write_model_file(m, file)) std::abort();
    std::atexit([] { std::remove(learned_model_path().c_str()); });
    return file;
  }();
  return path;
}

// The learned pricing model's config (JSON) on learned_model_path().
std::string learned_pricing_json() {
  return R"({"name": "learned", "config": {
     "@type": "type.googleapis.com/bidder.models.learned.v1.LearnedConfig", "click_model": ")" +
         learned_model_path() + R"(", "value_per_conversion": 40, "conversion_rate": 0.1}})";
}

// `config_json` with every campaign priced by the learned model.
std::string with_learned_pricing(const std::string& config_json) {
  boost::json::value config = boost::json::parse(config_json);
  const boost::json::value pricing = boost::json::parse(learned_pricing_json());
  for (boost::json::value& c : config.at("campaigns").as_array())
    c.as_object()["pricing"] = pricing;
  return boost::json::serialize(config);
}

// A decoded request; the decoder owns the buffers the request's views point into.
struct decoded_request {
  std::string text;
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
};

// The generated world of `campaigns` campaigns: its snapshot, a store of its audience and a
// pool of decoded requests (30 % from known users), all seeded.
struct world {
  fs::path dir;
  std::shared_ptr<const engine::snapshot> snap;
  std::shared_ptr<const engine::snapshot> learned_snap;  // the same campaigns, learned pricing
  std::unique_ptr<audience::rocksdb_store> store;
  std::vector<std::unique_ptr<decoded_request>> requests;

  explicit world(std::size_t campaigns) {
    bench::traffic_generator gen(
        {.seed = 1, .audience_hit = 0.3, .users = audience_users, .campaigns = campaigns});
    snap = snapshot_of(gen.config_json());
    learned_snap = snapshot_of(with_learned_pricing(gen.config_json()));
    dir = fs::temp_directory_path() /
          ("bidder-bench-targeting-" + std::to_string(std::random_device{}()));
    if (!bench::fill_audience_store(gen, dir.string(), wall_now(), nullptr)) std::abort();
    auto opened = audience::rocksdb_store::open({.path = (dir / "audience").string()});
    if (!opened) std::abort();
    store = std::move(*opened);
    for (std::size_t i = 0; i < pool_size; ++i) {
      auto r = std::make_unique<decoded_request>();
      r->text = gen.next_request();
      if (!r->decoder.decode(r->text, r->request)) std::abort();
      requests.push_back(std::move(r));
    }
    // Bid look-ups never read the disk: the whole store goes into the block cache first.
    if (!store->warm_cache()) std::abort();
  }
  ~world() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Destroyed by main() before static destructors run (RocksDB's own statics may be gone by then).
std::map<std::size_t, std::unique_ptr<world>>& worlds() {
  static std::map<std::size_t, std::unique_ptr<world>> all;
  return all;
}

world& world_of(std::size_t campaigns) {
  auto& w = worlds()[campaigns];
  if (!w) w = std::make_unique<world>(campaigns);
  return *w;
}

// One auction per iteration over the request pool; reservations are released after each so the
// budgets never run out.
void run_auctions(benchmark::State& state, bool learned) {
  world& w = world_of(static_cast<std::size_t>(state.range(0)));
  const engine::snapshot& snap = learned ? *w.learned_snap : *w.snap;
  engine::auction auction(w.store.get(), 0, 1);
  openrtb::bid_response response;
  std::size_t next = 0;
  std::int64_t bids = 0;
  for (auto _ : state) {
    const auto now = steady_clock::now();
    engine::request_context ctx{now, deadline(now + std::chrono::milliseconds(80)), wall_now()};
    const auto outcome = auction.run(snap, w.requests[next]->request, ctx, response);
    bids += outcome.is_bid() ? 1 : 0;
    auction.cancel_bids();
    if (++next == w.requests.size()) next = 0;
    benchmark::DoNotOptimize(outcome);
  }
  state.counters["bid_share"] =
      benchmark::Counter(static_cast<double>(bids) / static_cast<double>(state.iterations()));
}
void BM_auction_campaigns(benchmark::State& state) { run_auctions(state, false); }
BENCHMARK(BM_auction_campaigns)->ArgName("campaigns")->Arg(10)->Arg(1000)->Arg(10000);
// The same campaigns and traffic, every campaign priced by the learned model (issue 16: at most
// 2 us more per request at 1,000 campaigns).
void BM_auction_learned(benchmark::State& state) { run_auctions(state, true); }
BENCHMARK(BM_auction_learned)->ArgName("campaigns")->Arg(10)->Arg(1000)->Arg(10000);

// The targeting index alone, the part of the auction that grows with the campaign count: the
// request-level filter, then each imp's candidates (media, size, deals), over the same pool.
// The counter is the candidates an auction would then consider per request.
void BM_targeting_index(benchmark::State& state) {
  world& w = world_of(static_cast<std::size_t>(state.range(0)));
  const engine::targeting_index& index = w.snap->targeting;
  engine::campaign_set eligible, scratch, slot;
  std::size_t next = 0;
  std::int64_t candidates = 0;
  for (auto _ : state) {
    const openrtb::bid_request& request = w.requests[next]->request;
    index.filter(request, w.snap->default_exchange, /*audience_allowed=*/true, eligible, scratch);
    for (const openrtb::imp& imp : request.imps) {
      index.slot_candidates(imp, eligible, slot);
      slot.for_each([&](std::uint32_t) {
        ++candidates;
        return true;
      });
    }
    if (++next == w.requests.size()) next = 0;
    benchmark::DoNotOptimize(slot);
  }
  state.counters["candidates"] =
      benchmark::Counter(static_cast<double>(candidates) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_targeting_index)->ArgName("campaigns")->Arg(10)->Arg(1000)->Arg(10000);

// Each built-in model prices one impression of a known user (mobile device, three segments);
// each campaign's id is its model's name.
std::string pricing_config() {
  return R"({
  "seat": "s", "campaigns": [
  {"id": "fixed", "status": "ACTIVE", "currency": "USD", "max_cpm": 10,
   "advertiser_domains": ["a.example"],
   "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
   "pricing": {"name": "fixed", "config": {
     "@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": 1.5}}},
  {"id": "rules", "status": "ACTIVE", "currency": "USD", "max_cpm": 10,
   "advertiser_domains": ["b.example"],
   "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
   "pricing": {"name": "rules", "config": {
     "@type": "type.googleapis.com/bidder.models.rules.v1.RulesConfig", "base_cpm": 1.0,
     "rules": [{"multiplier": 1.5, "device_type_in": {"values": [2, 4]}},
               {"multiplier": 1.3, "segment": {"segment": "seg-b", "within_days": 7}},
               {"multiplier": 1.2, "zip_in": {"values": ["90210", "94027"]}},
               {"multiplier": 1.1, "segment": {"segment": "seg-c"}}]}}},
  {"id": "learned", "status": "ACTIVE", "currency": "USD", "max_cpm": 10,
   "advertiser_domains": ["c.example"],
   "creatives": [{"id": "c", "markup": "m", "banner": {"sizes": [{"w": 300, "h": 250}]}}],
   "pricing": )" +
         learned_pricing_json() + R"(}
]})";
}

const char* const pricing_request =
    R"({"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250},"bidfloor":0.5}],)"
    R"("site":{"domain":"example.com"},"device":{"devicetype":4,"geo":{"zip":"94027"}},)"
    R"("user":{"id":"u"}})";

void BM_pricing_model(benchmark::State& state) {
  static const auto snap = snapshot_of(pricing_config());
  const engine::compiled_campaign& c = snap->campaigns[static_cast<std::size_t>(state.range(0))];
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  if (!decoder.decode(pricing_request, request)) std::abort();
  const unix_seconds now = wall_now();
  std::vector<segment_membership> segments;
  for (const char* name : {"seg-a", "seg-b", "seg-c"}) {
    if (auto id = snap->segments.find(name)) segments.push_back({*id, now - 86400});
  }
  std::sort(segments.begin(), segments.end(),
            [](const auto& a, const auto& b) { return a.segment < b.segment; });
  const pricing::pricing_input input{
      request, request.imps[0], segments, money::from_units(0.5), c.max_cpm, now, "openx", c.id};
  for (auto _ : state) {
    const pricing::quote q = c.model->price(input);
    benchmark::DoNotOptimize(q);
  }
}
// One case per registered model: pricing_config's campaign whose id is the model's name. A model
// without one stops the benchmark, so a new model cannot be left out unnoticed.
const bool pricing_models_registered = [] {
  pricing::registry models;
  if (!models::register_builtin_models(models)) std::abort();
  const auto snap = snapshot_of(pricing_config());
  for (const std::string& name : models.names()) {
    const auto it = std::find_if(snap->campaigns.begin(), snap->campaigns.end(),
                                 [&](const engine::compiled_campaign& c) { return c.id == name; });
    if (it == snap->campaigns.end()) {
      std::fprintf(stderr,
                   "bench_targeting: pricing model \"%s\" has no case: add a campaign with id "
                   "\"%s\" to pricing_config\n",
                   name.c_str(), name.c_str());
      std::exit(1);
    }
    benchmark::RegisterBenchmark(("BM_pricing_model/" + name).c_str(), BM_pricing_model)
        ->Arg(static_cast<std::int64_t>(it - snap->campaigns.begin()));
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  worlds().clear();
  return 0;
}
