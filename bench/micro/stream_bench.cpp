// Events to a stream (docs/event-stream.md): how fast the forwarder empties the spool.
//   build/bench/bench_stream [--events=200000] [--partitions=3]
// Writes `events` bid and win events with the real event log into a temporary directory, then:
// 1. the spool reader alone (no Kafka): lines/s and MB/s read and split into batches;
// 2. the forwarder against librdkafka's mock cluster (in this process, on loopback): the time
//    from its start until the cursor on disk reaches the end of the spool, i.e. every line
//    confirmed by the broker (acks=all, idempotent): events/s forwarded. This is the catch-up
//    rate after an outage; the mock broker shares the machine's cores with the forwarder.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "bidder/events/event_log.hpp"
#include "bidder/stream/cursor.hpp"
#include "bidder/stream/kafka_forwarder.hpp"
#include "bidder/stream/spool.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bidder;
using clock_type = std::chrono::steady_clock;

long flag(int argc, char** argv, const char* name, long fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return std::atol(argv[i] + prefix.size());
    }
  }
  return fallback;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// The newest spool file and its size: where the cursor stands once everything is confirmed.
stream::spool_position end_of_spool(const fs::path& dir) {
  stream::spool_position end;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (stream::is_spool_file_name(name) &&
        (end.file.empty() || stream::spool_file_before(end.file, name))) {
      end = {name, fs::file_size(entry.path())};
    }
  }
  return end;
}

}  // namespace

int main(int argc, char** argv) {
  const long events = flag(argc, argv, "events", 200'000);
  const int partitions = static_cast<int>(flag(argc, argv, "partitions", 3));
  const fs::path dir = fs::temp_directory_path() / ("bench-stream-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  {  // The spool: bids and wins as the bid path and the notice handler log them.
    auto log = events::event_log::open({.dir = dir / "events"});
    if (!log) {
      std::fprintf(stderr, "event log: %s\n", log.error().message.c_str());
      return 1;
    }
    for (long i = 0; i < events; ++i) {
      const std::string auction = "auction-" + std::to_string(i / 2);
      events::event e;
      e.kind = i % 2 == 0 ? events::event_kind::bid : events::event_kind::win;
      e.time_ms = 1'795'342'530'250 + i;
      e.auction_id = auction;
      e.imp_id = "1";
      e.bid_id = "bid-0123456789";
      e.campaign_id = "campaign-shoes";
      e.creative_id = "creative-300x250";
      e.bid_price = money::from_micros(2'000'000);
      e.clearing_price = money::from_micros(1'500'000);
      e.currency = "USD";
      e.exchange = "openx";
      e.country = "DEU";
      e.device_type = 2;
      while (!(*log)->append(e)) (*log)->flush();
    }
    (*log)->stop();
  }
  const stream::spool_position end = end_of_spool(dir / "events");
  std::uint64_t spool_bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir / "events")) {
    spool_bytes += fs::file_size(entry.path());
  }
  std::printf("spool: %ld events, %.1f MB, %.0f bytes/event\n", events, spool_bytes / 1e6,
              static_cast<double>(spool_bytes) / static_cast<double>(events));

  {  // 1. The reader alone.
    stream::spool_reader reader(dir / "events", {});
    stream::spool_batch batch;
    std::size_t lines = 0;
    const auto start = clock_type::now();
    for (;;) {
      batch.clear();
      if (!reader.read(batch, 10'000, std::size_t{4} << 20) || batch.lines.empty()) break;
      for (std::size_t i = 0; i < batch.lines.size(); ++i) {
        const std::string id = batch.id(i, "bench");  // what the forwarder builds per line
        lines += id.empty() ? 0 : 1;
      }
    }
    const double s = seconds_since(start);
    std::printf("spool reader: %zu lines in %.3f s: %.0f lines/s, %.0f MB/s\n", lines, s,
                static_cast<double>(lines) / s, static_cast<double>(spool_bytes) / 1e6 / s);
  }

  // 2. The forwarder against the mock cluster.
  char reason[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (handle == nullptr) {
    std::fprintf(stderr, "rd_kafka_new: %s\n", reason);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, 1);
  rd_kafka_mock_topic_create(cluster, "events", partitions, 1);
  const auto start = clock_type::now();
  auto forwarder =
      stream::kafka_forwarder::start({.events_dir = dir / "events",
                                      .cursor_path = dir / "stream.cursor",
                                      .brokers = rd_kafka_mock_cluster_bootstraps(cluster),
                                      .topic = "events",
                                      .source = "bench"});
  if (!forwarder) {
    std::fprintf(stderr, "forwarder: %s\n", forwarder.error().message.c_str());
    return 1;
  }
  const auto give_up = clock_type::now() + std::chrono::minutes(2);
  for (;;) {
    const auto cursor = stream::load_cursor(dir / "stream.cursor");
    if (cursor && cursor->has_value() && **cursor == end) break;
    if (clock_type::now() > give_up) {
      std::fprintf(stderr, "forwarder: not caught up after 2 minutes\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a poll interval
  }
  const double s = seconds_since(start);
  const auto stats = (*forwarder)->stats();
  (*forwarder)->stop();
  std::printf(
      "forwarder (mock broker, %d partitions): %ld events confirmed in %.3f s: %.0f events/s, "
      "%.1f MB/s (sent %llu, failed %llu)\n",
      partitions, events, s, static_cast<double>(events) / s,
      static_cast<double>(spool_bytes) / 1e6 / s, static_cast<unsigned long long>(stats.sent),
      static_cast<unsigned long long>(stats.failed));
  forwarder->reset();
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  fs::remove_all(dir);
  return 0;
}
