// Micro-benchmarks of the spend side (bidder/spend, bidder/notice, engine notice processing):
// what budgets, pacing and frequency caps add to a bid, what signing adds, and how many notices
// one core handles (in process, and over HTTP against the real service with one thread).
// Run: build/bench/bench_spend --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bidder/app/service.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/notice_processor.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/notice/notice_url.hpp"
#include "bidder/notice/signer.hpp"
#include "bidder/openrtb/json_decoder.hpp"
#include "bidder/spend/account.hpp"
#include "bidder/spend/frequency_table.hpp"
#include "models/builtin.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder;

const std::string bench_key(40, 'b');

std::string read_corpus(const char* name) {
  std::ifstream in(std::string(BIDDER_CORPUS_DIR "/openrtb/") + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The demo config, optionally with a budget, EVEN pacing and two frequency caps on every
// campaign (the worst case for the bid path: every rule on every candidate).
std::shared_ptr<const engine::snapshot> demo_snapshot(bool spend_rules) {
  pricing::registry models;
  if (!models::register_builtin_models(models)) std::abort();
  auto parsed = config::parse(config::demo_config_json(), "demo");
  if (!parsed) std::abort();
  config::v1::BidderConfig copy = **parsed;
  if (spend_rules) {
    for (auto& c : *copy.mutable_campaigns()) {
      c.mutable_budget()->set_daily(1e8);
      c.mutable_budget()->set_lifetime(1e9);
      c.set_pacing(config::v1::EVEN);
      c.clear_frequency_caps();
      auto* day = c.add_frequency_caps();
      day->set_max_impressions(1000);
      day->set_period(config::v1::FrequencyCap::DAY);
      auto* week = c.add_frequency_caps();
      week->set_max_impressions(5000);
      week->set_period(config::v1::FrequencyCap::WEEK);
    }
  }
  auto built = engine::build_snapshot(copy, models);
  if (!built) std::abort();
  (*built)->spend->tick(wall_now());
  return *built;
}

// A bid on the budget's bid path: the eligibility check (room, pacing draw), the reservation,
// and its release, on `account`.
void run_budget_checks(benchmark::State& state, spend::account& account) {
  spend::budget b;
  b.daily = spend::amount_from_units(1e6);
  b.pacing = spend::pacing_mode::even;
  const unix_seconds now = wall_now();
  account.tick(b, now);
  std::uint32_t draw = 1;
  for (auto _ : state) {
    draw = draw * 1664525u + 1013904223u;
    bool ok = account.room(b, now) > 0 && account.pacing_allows(draw) &&
              account.try_reserve(b, 2'500'000, now);
    if (ok) account.release(2'500'000, now);
    benchmark::DoNotOptimize(ok);
  }
}

void BM_budget_checks(benchmark::State& state) {
  spend::account account("c", 60);
  run_budget_checks(state, account);
}
BENCHMARK(BM_budget_checks);

// The same in fleet mode (docs/fleet.md): the account also checks its lease's room, which the
// fleet thread keeps topped up (here: far more than the bench reserves).
void BM_budget_checks_fleet(benchmark::State& state) {
  spend::account account("c", 60, /*fleet_room=*/0);
  account.add_fleet_room(spend::amount_from_units(1e6));
  run_budget_checks(state, account);
}
BENCHMARK(BM_budget_checks_fleet);

// A frequency-cap check of one user with `ids` ids in a 1M-slot table half full (random keys:
// every look-up misses the CPU caches, as real traffic would).
void BM_frequency_lookup(benchmark::State& state) {
  spend::frequency_table table(1 << 20);
  const unix_seconds now = wall_now();
  std::mt19937_64 rng(1);
  for (int i = 0; i < (1 << 19); ++i) table.increment(rng() | 1, now);
  const auto ids = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::uint32_t most = 0;
    for (int i = 0; i < ids; ++i) most = std::max(most, table.lookup(rng() | 1, now).day);
    benchmark::DoNotOptimize(most);
  }
}
BENCHMARK(BM_frequency_lookup)->ArgName("ids")->Arg(1)->Arg(3);

// The auction on the demo config, 1.2 KB banner request with a user id: spend=0 no spend rules
// and no signing (the bid path as before this change); spend=1 budget + EVEN pacing + two
// frequency caps on every campaign; sign=1 notice URLs signed.
void BM_auction_spend(benchmark::State& state) {
  const bool spend_rules = state.range(0) != 0;
  const bool sign = state.range(1) != 0;
  auto snap = demo_snapshot(spend_rules);
  auto signer = notice::signer::from_key(bench_key);
  if (!signer) std::abort();
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  const std::string text = read_corpus("iab-ortb26__6.2.1-simple-banner.json");
  if (!decoder.decode(text, request)) std::abort();
  engine::auction auction(nullptr, 0, 1,
                          {.signer = sign ? &*signer : nullptr, .user_hash_secret = 7});
  openrtb::bid_response response;
  std::uint64_t n = 0;
  for (auto _ : state) {
    const auto now = steady_clock::now();
    const unix_seconds wall = wall_now();
    // The keeper's tick, as often as it runs in the service (cheap, amortised here).
    if ((++n & 0xffff) == 0) snap->spend->tick(wall);
    engine::request_context ctx{now, deadline(now + std::chrono::milliseconds(80)), wall};
    auto outcome = auction.run(*snap, request, ctx, response);
    if (!outcome.is_bid()) state.SkipWithError("no bid");
    auction.cancel_bids();  // keeps reservations from piling up (a loss notice would)
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_auction_spend)
    ->ArgNames({"spend", "sign"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1});

void BM_sign(benchmark::State& state) {
  auto signer = notice::signer::from_key(bench_key);
  if (!signer) std::abort();
  auto mac = signer->new_context();
  const notice::bid_identity id{.request_id = "80ce30c53c16e6ede735f123ef6e32361bfc7b22",
                                .imp_id = "1",
                                .bid_id = "5f3a9c21-0-1b2",
                                .campaign_id = "contextual-display",
                                .creative_id = "shop-banner-1",
                                .price_micros = 1'800'000,
                                .currency = "USD",
                                .issued_at = wall_now()};
  std::string out;
  for (auto _ : state) {
    out.clear();
    mac.sign(id, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_sign);

// Signed win-notice queries for the demo's contextual-display campaign, each a distinct bid.
std::vector<std::string> win_queries(std::size_t n) {
  auto signer = notice::signer::from_key(bench_key);
  if (!signer) std::abort();
  const auto snap = demo_snapshot(false);
  const std::string exchange = snap->exchanges[snap->default_exchange].id;
  auto mac = signer->new_context();
  std::vector<std::string> out;
  out.reserve(n);
  const unix_seconds now = wall_now();
  std::string url, sig;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string bid_id = "bench-" + std::to_string(i);
    const notice::bid_identity id{.request_id = "auction-1",
                                  .imp_id = "1",
                                  .bid_id = bid_id,
                                  .campaign_id = "contextual-display",
                                  .creative_id = "shop-banner-1",
                                  .price_micros = 1'800'000,
                                  .currency = "USD",
                                  .issued_at = now,
                                  .exchange = exchange,
                                  .key_id = signer->signing_key_id()};
    sig.clear();
    mac.sign(id, sig);
    url.clear();
    notice::append_notice_url(url, "", notice::notice_kind::win, id, sig);
    std::string q = url.substr(url.find('?') + 1);
    auto replace = [&](const std::string& macro, const std::string& value) {
      q.replace(q.find(macro), macro.size(), value);
    };
    replace("${AUCTION_ID}", "auction-1");
    replace("${AUCTION_IMP_ID}", "1");
    replace("${AUCTION_PRICE}", "1.20");
    out.push_back(std::move(q));
  }
  return out;
}

constexpr std::size_t notice_count = 200'000;

// One win notice applied in process: parse, verify, idempotency table, charge, release,
// journal. replay=1: the same notices again (verified, found, nothing applied).
void BM_notice_process(benchmark::State& state) {
  static const std::vector<std::string> queries = win_queries(notice_count);
  auto snap = demo_snapshot(false);
  auto signer = notice::signer::from_key(bench_key);
  if (!signer) std::abort();
  engine::notice_processor notices(*signer, nullptr);
  const unix_seconds now = wall_now();
  if (state.range(0) != 0) {
    for (const std::string& q : queries) notices.process(*snap, notice::notice_kind::win, q, now);
  } else if (notices.process(*snap, notice::notice_kind::win, queries.back(), now).error) {
    // Measure applied notices, not refusals (a URL format change once made them all 403).
    state.SkipWithError("the benchmark's notices are refused");
    return;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = notices.process(*snap, notice::notice_kind::win, queries[i++ % queries.size()], now);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_notice_process)->ArgName("replay")->Arg(0)->Iterations(notice_count)->Arg(1);

// Win notices over HTTP to the real service running ONE bid thread (so the rate is what one
// core serves), from one keep-alive connection that pipelines 64 requests at a time.
void BM_notice_http(benchmark::State& state) {
  static const std::vector<std::string> queries = win_queries(notice_count);
  const fs::path dir =
      fs::temp_directory_path() / ("bidder-spend-bench-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  std::ofstream(dir / "notice.key") << bench_key;
  std::string config(config::demo_config_json());
  config.insert(config.find('{') + 1,
                "\"notice_key_file\": \"" + (dir / "notice.key").string() + "\",");
  std::ofstream(dir / "config.json") << config;
  std::ostringstream log;
  auto svc = app::service::start({.config_path = (dir / "config.json").string(),
                                  .listen = "127.0.0.1:0",
                                  .admin_listen = "127.0.0.1:0",
                                  .data_dir = (dir / "data").string(),
                                  .threads = 1},
                                 log);
  if (!svc) {
    state.SkipWithError(svc.error().message.c_str());
    return;
  }
  namespace asio = boost::asio;
  namespace bhttp = boost::beast::http;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), (*svc)->bid_port()});
  socket.set_option(asio::ip::tcp::no_delay(true));
  boost::beast::flat_buffer buffer;
  constexpr std::size_t batch = 64;
  std::size_t next = 0, failed = 0;
  std::string wire;
  for (auto _ : state) {
    wire.clear();
    for (std::size_t i = 0; i < batch; ++i) {
      wire +=
          "GET /notice/win?" + queries[next++ % queries.size()] + " HTTP/1.1\r\nHost: b\r\n\r\n";
    }
    asio::write(socket, asio::buffer(wire));
    for (std::size_t i = 0; i < batch; ++i) {
      bhttp::response<bhttp::string_body> res;
      bhttp::read(socket, buffer, res);
      failed += res.result_int() != 204 ? 1 : 0;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  if (failed > 0) state.SkipWithError("a notice was not accepted");
  (*svc)->stop(std::chrono::seconds(2));
  std::error_code ec;
  fs::remove_all(dir, ec);
}
BENCHMARK(BM_notice_http)->Iterations(notice_count / 64)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
