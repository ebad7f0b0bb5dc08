// Browsing events into a large audience store (issue 20, docs/audience-events.md):
//   build/bench/bench_audience_events [--users=1000000] [--events=500000] [--body_lines=1000]
//                                     [--cache_mb=1024]
// Builds a store of `users` users (one pushed segment, as bench_audience does), then:
// 1. POST /admin/events' work: bodies of JSON lines parsed, rate-checked, matched against the
//    rules, and written as one synced WriteBatch of merge operands each (what the admin
//    thread does before it answers): events/s and the per-body time;
// 2. the segment pixel's path: events copied into the bounded queue (what a bid thread does:
//    ns per event), and the writer thread's drain into unsynced batches: events/s;
// 3. the bid path's look-up afterwards (kBlockCacheTier) for users with event operands still
//    unmerged in the memtable, then after a compaction merged them: p50/p99.
// Run it pinned to one core (taskset -c 1) for the "one core" figure.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bidder/app/audience_event_service.hpp"
#include "bidder/audience/member_sorter.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/browsing/ingest.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder;
using clock_type = std::chrono::steady_clock;

std::string id_of(std::uint64_t i) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%016" PRIx64 "-%08" PRIx64, i * 0x9E3779B97F4A7C15ull, i);
  return buffer;
}

class generated_source final : public audience::member_source {
 public:
  explicit generated_source(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  std::uint64_t size() const noexcept override { return keys_.size(); }
  bool next(audience::member& out) override {
    if (next_ == keys_.size()) return false;
    out.key = keys_[next_++];
    out.last_seen = 1'795'000'000;
    return true;
  }

 private:
  std::vector<std::string> keys_;
  std::size_t next_ = 0;
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

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

config::v1::AudienceEvents events_config() {
  config::v1::AudienceEvents c;
  auto* source = c.add_sources();
  source->set_id("auto");
  source->set_max_per_second(10'000'000);
  auto* r = c.add_rules();
  r->set_id("visitors");
  r->set_segment("auto-site-visitor");
  r->add_url_prefixes("example-auto.com/models/");
  r = c.add_rules();
  r->set_id("buyers");
  r->set_segment("recent-buyer");
  r->set_ttl_days(30);
  r->add_actions("purchase");
  return c;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t users = flag(argc, argv, "--users", 1'000'000);
  const std::uint64_t events = flag(argc, argv, "--events", 500'000);
  const std::uint64_t body_lines =
      std::max<std::uint64_t>(1, flag(argc, argv, "--body_lines", 1000));
  const std::uint64_t cache_mb = flag(argc, argv, "--cache_mb", 1024);
  const fs::path dir =
      fs::temp_directory_path() / ("bench-audience-events-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const unix_seconds now = wall_now();
  {
    auto opened = audience::rocksdb_store::open(
        {.path = (dir / "db").string(), .block_cache_bytes = cache_mb << 20});
    if (!opened) {
      std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
      return 1;
    }
    auto& store = **opened;
    std::vector<std::string> keys;
    keys.reserve(users);
    for (std::uint64_t i = 0; i < users; ++i) keys.push_back("ifa:" + id_of(i));
    std::sort(keys.begin(), keys.end());
    generated_source source(std::move(keys));
    auto start = clock_type::now();
    if (auto r = store.update_segment("pushed", audience::update_mode::replace, 0, source, now);
        !r) {
      std::fprintf(stderr, "push: %s\n", r.error().message.c_str());
      return 1;
    }
    if (auto r = store.warm_cache(); !r) return 1;
    std::printf("store: %" PRIu64 " users pushed and warmed in %.1f s\n", users,
                seconds_since(start));

    // 3. (defined here, run before and after the events) The bid path's look-up.
    // Users some event named (their values have operands until a compaction merges them).
    std::vector<bool> has_events(users, false);
    auto lookups = [&](const char* when) {
      std::vector<double> with, without;
      std::vector<audience::membership_view> out;
      std::mt19937_64 pick(7);
      for (int i = 0; i < 200'000; ++i) {
        const std::uint64_t user = pick() % users;
        const std::string key = "ifa:" + id_of(user);
        out.clear();
        const auto t = clock_type::now();
        const auto status = store.lookup(key, now, out);
        (has_events[user] ? with : without).push_back(seconds_since(t) * 1e6);
        if (status != audience::lookup_status::found) std::fprintf(stderr, "not found\n");
      }
      std::printf(
          "bid-path look-up %s: users with events p50 %.2f us, p99 %.2f us (%zu); others p50 "
          "%.2f us, p99 %.2f us (%zu)\n",
          when, percentile(with, 0.5), percentile(with, 0.99), with.size(),
          percentile(without, 0.5), percentile(without, 0.99), without.size());
    };
    lookups("before any event");

    // 1. POST bodies: parse, match, one synced write each.
    const browsing::rule_set rules = browsing::rule_set::compile(events_config());
    std::mt19937_64 random(42);
    static constexpr const char* pages[] = {"https://www.example-auto.com/models/suv-9",
                                            "https://example-auto.com/blog/news",
                                            "https://Example-Auto.com/models/"};
    std::vector<std::string> bodies;
    for (std::uint64_t made = 0; made < events; made += body_lines) {
      std::string body;
      for (std::uint64_t i = 0; i < body_lines; ++i) {
        const std::uint64_t user = random() % users;
        has_events[user] = true;
        const bool purchase = random() % 10 == 0;
        body += R"({"source":"auto","user_ids":["ifa:)" + id_of(user) + R"("],"action":")" +
                (purchase ? "purchase" : "page_view") + R"(","url":")" + pages[random() % 3] +
                R"(","time":)" + std::to_string(now - static_cast<unix_seconds>(random() % 600)) +
                "}\n";
      }
      bodies.push_back(std::move(body));
    }
    std::vector<double> body_ms;
    browsing::ingest_result total;
    std::vector<audience::event_membership> writes;
    start = clock_type::now();
    for (const std::string& body : bodies) {
      const auto body_start = clock_type::now();
      writes.clear();
      total.add(browsing::ingest_events(body, now, rules, {}, writes));
      if (auto r = store.add_event_memberships(writes, /*sync=*/true); !r) {
        std::fprintf(stderr, "write: %s\n", r.error().message.c_str());
        return 1;
      }
      body_ms.push_back(seconds_since(body_start) * 1000);
    }
    const double post_seconds = seconds_since(start);
    const double lines = static_cast<double>(total.accepted + total.unmatched + total.refused);
    std::printf(
        "POST /admin/events work: %.0f events in %.2f s = %.0f events/s (%.0f memberships/s; "
        "%" PRIu64 " accepted, %" PRIu64 " unmatched); a %" PRIu64
        "-line body: p50 %.2f ms, p99 %.2f ms (parse + match + one synced WriteBatch)\n",
        lines, post_seconds, lines / post_seconds,
        static_cast<double>(total.memberships) / post_seconds, total.accepted, total.unmatched,
        body_lines, percentile(body_ms, 0.5), percentile(body_ms, 0.99));

    // 2. The pixel: the bid thread's copy into the queue, and the writer's drain.
    {
      app::audience_event_service service(store, events_config(), {.queue_slots = 1 << 16});
      engine::event_sink* sink = service.sink(nullptr);
      const std::uint64_t pixel_events = std::min<std::uint64_t>(events, 60'000);
      std::vector<std::string> ids;
      for (std::uint64_t i = 0; i < pixel_events; ++i)
        ids.push_back("ifa:" + id_of(random() % users));
      std::uint64_t queued = 0;
      start = clock_type::now();
      for (std::uint64_t i = 0; i < pixel_events; ++i) {
        const std::string_view id = ids[i];
        queued += sink->on_segment_pixel({.source = "auto",
                                          .user_ids = std::span<const std::string_view>(&id, 1),
                                          .action = "page_view",
                                          .url = pages[i % 3],
                                          .at = now})
                      ? 1
                      : 0;
      }
      const double queue_seconds = seconds_since(start);
      service.flush();
      const double pixel_seconds = seconds_since(start);
      std::printf("segment pixel: %" PRIu64 " of %" PRIu64
                  " queued at %.0f ns each (the bid thread's "
                  "cost); queued and written in %.2f s = %.0f events/s (unsynced batches)\n",
                  queued, pixel_events, queue_seconds * 1e9 / static_cast<double>(pixel_events),
                  pixel_seconds, static_cast<double>(queued) / pixel_seconds);
      service.stop();
    }

    lookups("with event operands unmerged");
    start = clock_type::now();
    if (auto r = store.compact(); !r) return 1;
    std::printf("compaction: %.1f s\n", seconds_since(start));
    lookups("after compaction");
  }
  fs::remove_all(dir);
  return 0;
}
