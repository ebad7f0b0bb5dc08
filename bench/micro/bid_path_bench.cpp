// Micro-benchmarks of the bid path, stage by stage and whole: decode (JSON and protobuf, a small
// and a large request), the auction (targeting + audience look-up + pricing) on the embedded
// demo config, and writing the response (JSON and protobuf). Run: build/bench/bench_bid_path
// --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/openrtb/json_decoder.hpp"
#include "bidder/openrtb/json_writer.hpp"
#include "bidder/openrtb/proto_codec.hpp"
#include "models/builtin.hpp"
#include "openrtb/openrtb.pb.h"

namespace {

namespace fs = std::filesystem;
using namespace bidder;

std::string read_corpus(const char* name) {
  const std::string path = std::string(BIDDER_CORPUS_DIR "/openrtb/") + name;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  // A missing file would time the decoding of "" (a fast failure), not of a request.
  if (!in || text.str().empty()) {
    std::fprintf(stderr, "bench_bid_path: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  return text.str();
}

// A 1.2 KB site banner request (IAB spec example) and a 4.5 KB site request with 3 video imps
// and PMP deals (bsm/openrtb test data).
const char* const small_request = "iab-ortb26__6.2.1-simple-banner.json";
const char* const large_request = "bsm__video-pmp-multi-imp.json";

const std::string& request_text(int which) {
  static const std::string small = read_corpus(small_request);
  static const std::string large = read_corpus(large_request);
  return which == 0 ? small : large;
}

std::shared_ptr<const engine::snapshot> demo_snapshot() {
  static std::shared_ptr<const engine::snapshot> snap = [] {
    pricing::registry models;
    if (!models::register_builtin_models(models)) std::abort();
    auto config = config::parse(config::demo_config_json(), "demo");
    if (!config) std::abort();
    auto built = engine::build_snapshot(**config, models);
    if (!built) std::abort();
    return *built;
  }();
  return snap;
}

// The demo store with its two users plus `extra` random ones, in a temporary directory.
struct bench_store {
  fs::path dir;
  std::unique_ptr<audience::rocksdb_store> store;
  explicit bench_store(std::size_t extra) {
    dir = fs::temp_directory_path() / ("bidder-bench-" + std::to_string(std::random_device{}()));
    auto opened = audience::rocksdb_store::open({.path = dir.string()});
    if (!opened) std::abort();
    store = std::move(*opened);
    const unix_seconds now = wall_now();
    std::vector<audience::membership> car{{"auto-site-visitor", now - 2 * 86400},
                                          {"old-luxury-car-owner", now - 30 * 86400}};
    if (!store->write_user("user:demo-car-buyer", car)) std::abort();
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i < extra; ++i) {
      if (!store->write_user("user:u" + std::to_string(rng()), car)) std::abort();
    }
  }
  ~bench_store() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void BM_decode_json(benchmark::State& state) {
  const std::string& text = request_text(static_cast<int>(state.range(0)));
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  for (auto _ : state) {
    auto r = decoder.decode(text, request);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_decode_json)->ArgName("large")->Arg(0)->Arg(1);

// The small request as is (0), carrying typical third-party data (1: the corpus median, two
// Data objects with one segment each, user.data in the IAB Audience Taxonomy and
// site.content.data in the Content Taxonomy) and heavy data (2: two user.data providers with 4
// and 6 segments and a content one with 3). Issue 20: decoding them may add at most 0.3 us to a
// typical request that carries them, nothing to one without. All are re-serialized alike so
// only the data differs.
const std::string& request_with_data(int which) {
  static const std::array<std::string, 3> texts = [] {
    std::array<std::string, 3> out;
    auto segments = [](int n, int base) {
      boost::json::array list;
      for (int i = 0; i < n; ++i) {
        list.push_back(boost::json::object{{"id", std::to_string(base + i)}});
      }
      return list;
    };
    for (int i = 0; i < 3; ++i) {
      boost::json::value json = boost::json::parse(request_text(0));
      boost::json::object& root = json.as_object();
      if (i == 1) {
        root["user"].as_object()["data"] = boost::json::array{{{"name", "data-provider.example"},
                                                               {"ext", {{"segtax", 4}}},
                                                               {"segment", segments(1, 101)}}};
        root["site"].as_object()["content"] = {
            {"data", boost::json::array{{{"name", "contextual.example"},
                                         {"ext", {{"segtax", 7}}},
                                         {"segment", segments(1, 480)}}}}};
      } else if (i == 2) {
        root["user"].as_object()["data"] = boost::json::array{{{"id", "1234"},
                                                               {"name", "data-provider.example"},
                                                               {"ext", {{"segtax", 4}}},
                                                               {"segment", segments(4, 101)}},
                                                              {{"name", "other-provider.example"},
                                                               {"ext", {{"segtax", 4}}},
                                                               {"segment", segments(6, 401)}}};
        root["site"].as_object()["content"] = {
            {"data", boost::json::array{{{"name", "contextual.example"},
                                         {"ext", {{"segtax", 7}}},
                                         {"segment", segments(3, 480)}}}}};
      }
      out[static_cast<std::size_t>(i)] = boost::json::serialize(json);
    }
    return out;
  }();
  return texts[static_cast<std::size_t>(which)];
}

void BM_decode_json_user_data(benchmark::State& state) {
  const std::string& text = request_with_data(static_cast<int>(state.range(0)));
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  for (auto _ : state) {
    auto r = decoder.decode(text, request);
    benchmark::DoNotOptimize(r);
  }
  state.counters["segments"] = static_cast<double>(request.data_segments.size());
}
BENCHMARK(BM_decode_json_user_data)->ArgName("data")->Arg(0)->Arg(1)->Arg(2);

// The corpus request re-encoded as protobuf (JSON mapping of the same schema: the field names
// are OpenRTB's), so both decoders read the same request.
// OpenRTB writes its flags as 0/1 integers; the protobuf schema (after google/openrtb) has them
// as bools, which the protobuf JSON parser will not take from a number.
void numbers_to_bools(boost::json::value& v) {
  static const std::set<std::string_view> flags{"allimps",
                                                "boxingallowed",
                                                "clickbrowser",
                                                "complete",
                                                "coppa",
                                                "dnt",
                                                "embeddable",
                                                "fd",
                                                "gdpr",
                                                "geofetch",
                                                "group",
                                                "hp",
                                                "instl",
                                                "js",
                                                "livestream",
                                                "lmt",
                                                "mobile",
                                                "paid",
                                                "privacypolicy",
                                                "private_auction",
                                                "rwdd",
                                                "secure",
                                                "skip",
                                                "stitched",
                                                "test",
                                                "topframe",
                                                "vcm"};
  if (auto* object = v.if_object()) {
    for (auto& [key, field] : *object) {
      if (flags.contains(key) && field.is_int64()) {
        field = field.as_int64() != 0;
      } else {
        numbers_to_bools(field);
      }
    }
  } else if (auto* array = v.if_array()) {
    for (auto& item : *array) numbers_to_bools(item);
  }
}

std::string protobuf_of(int which) {
  bidder::openrtb::BidRequest message;
  boost::json::value json = boost::json::parse(request_text(which));
  numbers_to_bools(json);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // ext objects the schema leaves out
  if (auto status = google::protobuf::util::JsonStringToMessage(boost::json::serialize(json),
                                                                &message, options);
      !status.ok()) {
    std::fprintf(stderr, "cannot re-encode the request as protobuf: %s\n",
                 status.ToString().c_str());
    std::abort();
  }
  return message.SerializeAsString();
}

void BM_decode_protobuf(benchmark::State& state) {
  const std::string bytes = protobuf_of(static_cast<int>(state.range(0)));
  openrtb::proto_decoder decoder;
  openrtb::bid_request request;
  if (!decoder.decode(bytes, request)) std::abort();
  for (auto _ : state) {
    auto r = decoder.decode(bytes, request);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_decode_protobuf)->ArgName("large")->Arg(0)->Arg(1);

void BM_auction(benchmark::State& state) {
  auto snap = demo_snapshot();
  bench_store store(static_cast<std::size_t>(state.range(1)));
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  if (!decoder.decode(request_text(static_cast<int>(state.range(0))), request)) std::abort();
  engine::auction auction(store.store.get(), 0, 1);
  openrtb::bid_response response;
  for (auto _ : state) {
    const auto now = steady_clock::now();
    engine::request_context ctx{now, deadline(now + std::chrono::milliseconds(80)), wall_now()};
    auto outcome = auction.run(*snap, request, ctx, response);
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_auction)->ArgNames({"large", "users"})->Args({0, 0})->Args({1, 0})->Args({0, 100000});

void BM_audience_lookup(benchmark::State& state) {
  bench_store store(static_cast<std::size_t>(state.range(0)));
  std::vector<audience::membership_view> out;
  const std::string key = state.range(1) ? "user:demo-car-buyer" : "user:nobody";
  for (auto _ : state) {
    out.clear();
    auto status = store.store->lookup(key, wall_now(), out);
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_audience_lookup)->ArgNames({"users", "hit"})->Args({100000, 1})->Args({100000, 0});

// The demo's bid response to the large request, as the writers below serialize it (the
// response points into the snapshot, which therefore lives as long).
struct answered_request {
  std::shared_ptr<const engine::snapshot> snap = demo_snapshot();
  openrtb::bid_response response;
  answered_request() {
    openrtb::json_decoder decoder;
    openrtb::bid_request request;
    if (!decoder.decode(request_text(1), request)) std::abort();
    engine::auction auction(nullptr, 0, 1);
    const auto now = steady_clock::now();
    engine::request_context ctx{now, deadline(now + std::chrono::hours(1)), wall_now()};
    if (!auction.run(*snap, request, ctx, response).is_bid()) std::abort();
  }
};

void BM_write_json(benchmark::State& state) {
  const answered_request answered;
  std::string out;
  for (auto _ : state) {
    openrtb::write_json_response(answered.response, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_write_json);

void BM_write_protobuf(benchmark::State& state) {
  const answered_request answered;
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!openrtb::write_proto_response(answered.response, out)) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_write_protobuf);

// Decode + auction (with a RocksDB look-up) + write: the CPU the bid path adds on top of HTTP.
void BM_bid_path(benchmark::State& state) {
  auto snap = demo_snapshot();
  bench_store store(0);
  const std::string& text = request_text(static_cast<int>(state.range(0)));
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  engine::auction auction(store.store.get(), 0, 1);
  openrtb::bid_response response;
  std::string out;
  for (auto _ : state) {
    const auto now = steady_clock::now();
    if (!decoder.decode(text, request)) std::abort();
    engine::request_context ctx{now, deadline(now + std::chrono::milliseconds(80)), wall_now()};
    if (auction.run(*snap, request, ctx, response).is_bid()) {
      openrtb::write_json_response(response, out);
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_bid_path)->ArgName("large")->Arg(0)->Arg(1);

// The demo with its first exchange's bid shading in `mode` (1 LEARNED, 2 FACTOR), its win curve
// already learned from a synthetic market, so the shaded path (the table read) is timed.
std::shared_ptr<const engine::snapshot> shaded_snapshot(int mode) {
  pricing::registry models;
  if (!models::register_builtin_models(models)) std::abort();
  auto config = config::parse(config::demo_config_json(), "demo");
  if (!config) std::abort();
  config::bidder_config copy = **config;
  config::v1::Shading& shading = *copy.mutable_exchanges(0)->mutable_shading();
  shading.set_mode(mode == 1 ? config::v1::Shading::LEARNED : config::v1::Shading::FACTOR);
  auto built = engine::build_snapshot(copy, models);
  if (!built) std::abort();
  shading::exchange_state& x = *(*built)->exchanges[0].shading_state;
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> competing(0.47, 0.6), value(std::log(2.0), 0.5);
  std::uniform_real_distribution<double> factor(0.3, 1.0);
  for (int i = 0; i < 20000; ++i) {
    const double v = value(rng), bid = v * factor(rng), c = competing(rng);
    x.observe({.segment = static_cast<std::size_t>(i) % shading::segment_count,
               .arm = static_cast<std::uint8_t>(i % shading::factor_arms),
               .value = v,
               .bid = bid,
               .won = bid > c,
               .clearing = bid,
               .min_to_win = c + 0.01});
  }
  (*built)->shading->recompute(wall_now());
  return *built;
}

// BM_bid_path on the small request (first price, `at` 1) with shading on: the added cost is the
// difference to BM_bid_path/large:0 (shading off: one branch).
void BM_bid_path_shaded(benchmark::State& state) {
  auto snap = shaded_snapshot(static_cast<int>(state.range(0)));
  bench_store store(0);
  const std::string& text = request_text(0);
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  engine::auction auction(store.store.get(), 0, 1);
  openrtb::bid_response response;
  std::string out;
  for (auto _ : state) {
    const auto now = steady_clock::now();
    if (!decoder.decode(text, request)) std::abort();
    if (request.auction_type != 1) std::abort();
    engine::request_context ctx{now, deadline(now + std::chrono::milliseconds(80)), wall_now()};
    if (auction.run(*snap, request, ctx, response).is_bid()) {
      openrtb::write_json_response(response, out);
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_bid_path_shaded)->ArgName("mode")->Arg(1)->Arg(2);

// The shading decision alone (what the auction adds per shaded bid besides the longer URLs):
// the segment, the table read and interpolation, the bounds.
void BM_shade(benchmark::State& state) {
  auto snap = shaded_snapshot(static_cast<int>(state.range(0)));
  const engine::compiled_exchange& x = snap->exchanges[0];
  double value = 0.7;
  std::uint32_t draw = 12345;
  for (auto _ : state) {
    const std::size_t segment = shading::segment_of(2, 300, 250);
    const shading::decision d = x.shading_state->shade(x.shading, segment, value, draw);
    benchmark::DoNotOptimize(d);
    value = value < 9 ? value * 1.07 : 0.7;
    draw = draw * 1664525u + 1013904223u;
  }
}
BENCHMARK(BM_shade)->ArgName("mode")->Arg(1)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
