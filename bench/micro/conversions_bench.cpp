// Micro-benchmarks of conversions and attribution (issue 15):
// - BM_notice_touch/touches:0|1: one win notice applied in process, without and with the touch
//   recording the running bidder adds (the conversion service's event sink: a copy into the
//   touch recorder's queue). The difference is what recording a touch costs a notice.
// - BM_ingest_postback: conversions/s on one core: bodies of 1,000 postback lines, each with a
//   user id that has touches, attributed and committed (one synced write per body) into a
//   real conversion store.
// Run: build/bench/bench_conversions --benchmark_repetitions=3
//      --benchmark_report_aggregates_only=true
// The touch store at scale (size per user, look-up percentiles) is bench_touch_store.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bidder/app/conversion_service.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/conversions/conversion_store.hpp"
#include "bidder/conversions/ingest.hpp"
#include "bidder/engine/notice_processor.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/events/event_log.hpp"
#include "bidder/notice/notice_url.hpp"
#include "bidder/notice/signer.hpp"
#include "models/builtin.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder;

const std::string bench_key(40, 'c');

struct scratch_dir {
  fs::path path;
  scratch_dir() {
    path =
        fs::temp_directory_path() / ("bench-conversions-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::shared_ptr<const engine::snapshot> demo_snapshot() {
  pricing::registry models;
  if (!models::register_builtin_models(models)) std::abort();
  auto parsed = config::parse(config::demo_config_json(), "demo");
  if (!parsed) std::abort();
  auto built = engine::build_snapshot(**parsed, models);
  if (!built) std::abort();
  (*built)->spend->tick(wall_now());
  return *built;
}

// Signed win-notice queries of distinct bids, each for a user with two id hashes.
std::vector<std::string> win_queries(const engine::snapshot& snap, std::size_t n) {
  auto signer = notice::signer::from_key(bench_key);
  if (!signer) std::abort();
  auto mac = signer->new_context();
  const engine::compiled_campaign& campaign = snap.campaigns.front();
  const std::string creative = snap.creatives[campaign.creatives.front()].id;
  std::vector<std::string> out;
  const unix_seconds now = wall_now();
  std::string url, sig;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string bid_id = "bench-" + std::to_string(i);
    char users[40];
    std::snprintf(users, sizeof users, "%016zx.%016zx", i * 2 + 1, i * 2 + 2);
    const notice::bid_identity id{.request_id = "auction-1",
                                  .imp_id = "1",
                                  .bid_id = bid_id,
                                  .campaign_id = campaign.id,
                                  .creative_id = creative,
                                  .price_micros = 1'800'000,
                                  .currency = "USD",
                                  .issued_at = now,
                                  .users = users,
                                  .exchange = snap.exchanges[snap.default_exchange].id,
                                  .key_id = signer->signing_key_id()};
    sig.clear();
    mac.sign(id, sig);
    url.clear();
    notice::append_notice_url(url, "", notice::notice_kind::win, id, sig);
    std::string q = url.substr(url.find('?') + 1);
    for (const auto& [macro, value] :
         {std::pair<std::string, std::string>{"${AUCTION_ID}", "auction-1"},
          {"${AUCTION_IMP_ID}", "1"},
          {"${AUCTION_PRICE}", "1.20"}}) {
      q.replace(q.find(macro), macro.size(), value);
    }
    out.push_back(std::move(q));
  }
  return out;
}

constexpr std::size_t notice_count = 200'000;

void BM_notice_touch(benchmark::State& state) {
  auto snap = demo_snapshot();
  static const std::vector<std::string> queries = win_queries(*snap, notice_count);
  auto signer = notice::signer::from_key(bench_key);
  if (!signer) std::abort();
  scratch_dir dir;
  engine::snapshot_holder holder(snap);
  auto log = events::event_log::open({.dir = dir.path / "events"});
  if (!log) std::abort();
  std::unique_ptr<app::conversion_service> conversions;
  engine::event_sink* sink = nullptr;
  if (state.range(0) != 0) {
    auto opened = app::conversion_service::open({.dir = dir.path / "conversions"}, holder, **log);
    if (!opened) std::abort();
    conversions = std::move(*opened);
    sink = conversions->sink(nullptr);  // touches only: the event log's cost is not this one's
  }
  engine::notice_processor notices(*signer, sink);
  const unix_seconds now = wall_now();
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = notices.process(*snap, notice::notice_kind::win, queries[i++ % queries.size()], now);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (conversions) {
    conversions->flush_touches();
    const auto size = conversions->store().size();
    state.counters["store_keys"] = static_cast<double>(size.estimated_keys);
    // At this benchmark's rate (far above a server's notice rate) the writer falls behind and
    // the queue drops: the notice never waits.
    state.counters["touches_dropped"] = static_cast<double>(conversions->touch_stats().dropped);
  }
}
BENCHMARK(BM_notice_touch)->ArgName("touches")->Arg(0)->Arg(1)->Iterations(notice_count);

void BM_ingest_postback(benchmark::State& state) {
  scratch_dir dir;
  auto store = conversions::conversion_store::open({.dir = dir.path});
  if (!store) std::abort();
  // 100,000 users with three touches each (a view, a click, another campaign's view).
  constexpr std::size_t users = 100'000;
  const unix_seconds t0 = wall_now() - 3600;
  std::vector<conversions::touch_write> writes;
  for (std::size_t u = 0; u < users; ++u) {
    const std::uint64_t hash = std::hash<std::string>()("buyeruid:user-" + std::to_string(u));
    for (int k = 0; k < 3; ++k) {
      conversions::touch t{
          .kind = k == 1 ? conversions::touch_kind::click : conversions::touch_kind::view,
          .at = t0 + k,
          .bid_id = "bid-" + std::to_string(u) + "-" + std::to_string(k),
          .campaign_id = k == 2 ? "other" : "shoes",
          .creative_id = "cr",
          .exchange = "x1",
          .currency = "USD",
          .price_micros = 1'500'000};
      writes.push_back({std::move(t), {hash}});
    }
    if (writes.size() >= 3000) {
      if (!(*store)->record(writes)) std::abort();
      writes.clear();
    }
  }
  if (!(*store)->record(writes)) std::abort();
  std::map<std::string, conversions::campaign_terms, std::less<>> campaigns;
  campaigns["shoes"] = {.advertiser_domains = {"shop.example"}, .first_advertiser = "shop.example"};
  campaigns["other"] = {.advertiser_domains = {"other.example"},
                        .first_advertiser = "other.example"};
  conversions::ingest_context ctx;
  ctx.campaign = [&](std::string_view id) -> const conversions::campaign_terms* {
    auto it = campaigns.find(id);
    return it == campaigns.end() ? nullptr : &it->second;
  };
  ctx.advertiser_known = [](std::string_view) { return true; };
  ctx.convert = [](money v, std::string_view, std::string_view) { return std::optional(v); };
  ctx.hash_user = [](std::string_view key) { return std::hash<std::string_view>()(key); };

  constexpr std::size_t lines = 1000;
  std::mt19937_64 rng(7);
  std::size_t next_order = 0, attributed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string body;
    for (std::size_t i = 0; i < lines; ++i) {
      body += R"({"conversion_id":"order-)" + std::to_string(next_order++) +
              R"(","value":25.5,"currency":"USD","time":)" + std::to_string(t0 + 60) +
              R"(,"user_ids":["buyeruid:user-)" + std::to_string(rng() % users) +
              R"("],"advertiser":"shop.example"})" + "\n";
    }
    state.ResumeTiming();
    auto r = conversions::ingest_postback(**store, body, t0 + 120, ctx);
    if (!r) std::abort();
    attributed += r->accepted;
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lines));
  state.counters["attributed_share"] =
      static_cast<double>(attributed) / static_cast<double>(state.iterations() * lines);
}
BENCHMARK(BM_ingest_postback)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
