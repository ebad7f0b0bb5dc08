#include "bidder/stream/kafka_forwarder.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "bidder/events/event_log.hpp"
#include "bidder/stream/cursor.hpp"
#include "tests/stream/mock_kafka.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bidder;
using stream::forwarder_options;
using stream::kafka_forwarder;
using stream_test::consumed;
using stream_test::mock_kafka;

namespace {

// Polls `done` until it holds or `limit` passes (no sleeps: librdkafka and the forwarder run
// on their own threads; this only looks).
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a poll interval, not a wait
  }
  return done();
}

// `message_timeout`: long enough by default that a loaded machine sees no spurious timeout.
forwarder_options options_for(const bidder::test::temp_dir& dir, const mock_kafka& kafka,
                              std::chrono::milliseconds message_timeout = std::chrono::seconds(5)) {
  return {.events_dir = dir.path / "events",
          .cursor_path = dir.path / "stream.cursor",
          .brokers = kafka.bootstraps(),
          .topic = kafka.topic(),
          .source = "bidder-test-1",
          .properties = {{"linger.ms", "2"}, {"request.timeout.ms", "300"}},
          .batch_lines = 300,
          .idle_wait = std::chrono::milliseconds(2),
          .message_timeout = message_timeout,
          .min_backoff = std::chrono::milliseconds(20),
          .max_backoff = std::chrono::milliseconds(200)};
}

// Appends a bid and a win for auctions [from, to): the wins are what must arrive.
void append_auctions(events::event_log& log, int from, int to) {
  for (int i = from; i < to; ++i) {
    const std::string auction = "auction-" + std::to_string(i);
    for (const auto kind : {events::event_kind::bid, events::event_kind::win}) {
      events::event e;
      e.kind = kind;
      e.time_ms = 1'795'342'530'250 + i;
      e.auction_id = auction;
      e.imp_id = "1";
      e.bid_id = "b";
      e.campaign_id = "c1";
      e.creative_id = "cr1";
      e.bid_price = money::from_micros(1'500'000);
      e.clearing_price = money::from_micros(1'200'000);
      e.currency = "USD";
      while (!log.append(e)) log.flush();  // never drop: the test counts every win
    }
  }
}

// True when the cursor on disk is at the end of the newest spool file: the broker confirmed
// every line written so far (the stats' lag is a gauge that may be a batch old).
bool caught_up(const std::filesystem::path& dir) {
  std::string newest;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "events")) {
    const std::string name = entry.path().filename().string();
    if (stream::is_spool_file_name(name) &&
        (newest.empty() || stream::spool_file_before(newest, name))) {
      newest = name;
    }
  }
  const auto cursor = stream::load_cursor(dir / "stream.cursor");
  if (!cursor || !cursor->has_value() || newest.empty()) return false;
  return **cursor ==
         stream::spool_position{newest, std::filesystem::file_size(dir / "events" / newest)};
}

std::string auction_of(const std::string& line) {
  const std::string key = "\"auction_id\":\"";
  const std::size_t at = line.find(key);
  if (at == std::string::npos) return {};
  const std::size_t begin = at + key.size();
  return line.substr(begin, line.find('"', begin) - begin);
}

// What a consumer that drops repeats by event id sees: checks every message carries its id
// (key == header), the same id always has the same line, and, per file, offsets rise. Returns
// the number of distinct WIN events per auction.
std::map<std::string, int> wins_after_dedup(const std::vector<consumed>& messages,
                                            std::size_t& distinct) {
  std::map<std::string, std::string> line_of;        // id -> line
  std::map<std::string, std::uint64_t> last_offset;  // "<source>/<file>" -> last new offset
  std::map<std::string, int> wins;
  for (const consumed& m : messages) {
    REQUIRE(m.id == m.header);
    const auto [it, fresh] = line_of.emplace(m.id, m.value);
    if (!fresh) {
      CHECK(it->second == m.value);  // a repeat is the same line
      continue;
    }
    const std::size_t colon = m.id.rfind(':');
    REQUIRE(colon != std::string::npos);
    const std::string file = m.id.substr(0, colon);
    const std::uint64_t offset = std::stoull(m.id.substr(colon + 1));
    if (const auto last = last_offset.find(file); last != last_offset.end()) {
      CHECK(offset > last->second);  // in order per file
    }
    last_offset[file] = offset;
    if (m.value.find("\"kind\":\"WIN\"") != std::string::npos) ++wins[auction_of(m.value)];
  }
  distinct = line_of.size();
  return wins;
}

void check_every_win_once(const std::map<std::string, int>& wins, int auctions) {
  CHECK(wins.size() == static_cast<std::size_t>(auctions));
  for (int i = 0; i < auctions; ++i) {
    const auto it = wins.find("auction-" + std::to_string(i));
    REQUIRE(it != wins.end());
    CHECK(it->second == 1);
  }
}

}  // namespace

TEST_CASE(
    "every win reaches the stream exactly once after de-duplication, across a broker "
    "outage",
    "[stream][integration]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  mock_kafka kafka(3);
  auto log = events::event_log::open({.dir = dir.path / "events",
                                      .queue_capacity = 1024,
                                      .max_file_bytes = 32 * 1024,
                                      .idle_wait = std::chrono::milliseconds(1)});
  REQUIRE(log);
  auto forwarder = kafka_forwarder::start(options_for(dir, kafka));
  REQUIRE(forwarder);
  kafka_forwarder& f = **forwarder;

  append_auctions(**log, 0, 1000);
  REQUIRE(eventually([&] { return f.stats().delivered > 200; }));

  // The broker goes away mid-run; the bidder goes on logging (the files are the spool).
  kafka.set_down(true);
  append_auctions(**log, 1000, 2000);
  const bool outage_seen =
      eventually([&] { return !f.stats().connected && f.stats().lag_bytes > 0; });
  {
    const auto s = f.stats();
    INFO("sent " << s.sent << " delivered " << s.delivered << " failed " << s.failed << " retries "
                 << s.retries << " lag " << s.lag_bytes);
    REQUIRE(outage_seen);
  }
  append_auctions(**log, 2000, 2500);
  (*log)->flush();

  kafka.set_down(false);
  append_auctions(**log, 2500, 3000);
  (*log)->stop();
  REQUIRE(eventually([&] { return caught_up(dir.path); }));
  const auto after = f.stats();
  CHECK(f.stats().connected);
  CHECK(after.delivered >= 6000);
  f.stop();

  const std::vector<consumed> messages = kafka.read_all();
  std::size_t distinct = 0;
  const auto wins = wins_after_dedup(messages, distinct);
  CHECK(distinct == 6000);  // 3000 bids and 3000 wins, no more, no fewer
  check_every_win_once(wins, 3000);
  CHECK(messages.size() >= distinct);
  const auto cursor = stream::load_cursor(dir.path / "stream.cursor");
  REQUIRE(cursor.has_value());
  REQUIRE(cursor->has_value());
}

TEST_CASE("lines that time out while the broker is down are retried from the cursor with backoff",
          "[stream][integration]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  mock_kafka kafka(2);
  kafka.set_down(true);  // down from the start: the lines wait in librdkafka's queue, time out
  auto log = events::event_log::open({.dir = dir.path / "events",
                                      .queue_capacity = 1024,
                                      .idle_wait = std::chrono::milliseconds(1)});
  REQUIRE(log);
  auto forwarder = kafka_forwarder::start(options_for(dir, kafka, std::chrono::milliseconds(400)));
  REQUIRE(forwarder);
  kafka_forwarder& f = **forwarder;
  append_auctions(**log, 0, 200);
  (*log)->flush();
  REQUIRE(eventually([&] { return f.stats().retries >= 2; }));
  const auto down = f.stats();
  CHECK(down.failed >= 400);
  CHECK(down.delivered == 0);
  CHECK_FALSE(down.connected);
  CHECK(down.lag_bytes > 0);
  CHECK_FALSE(std::filesystem::exists(dir.path / "stream.cursor"));

  kafka.set_down(false);
  append_auctions(**log, 200, 300);
  (*log)->stop();
  REQUIRE(eventually([&] { return caught_up(dir.path); }));
  f.stop();
  std::size_t distinct = 0;
  const auto wins = wins_after_dedup(kafka.read_all(), distinct);
  CHECK(distinct == 600);
  check_every_win_once(wins, 300);
}

TEST_CASE("a forwarder restarted after a crash resumes from its cursor", "[stream][integration]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  mock_kafka kafka(2);
  auto log = events::event_log::open({.dir = dir.path / "events",
                                      .queue_capacity = 1024,
                                      .max_file_bytes = 16 * 1024,
                                      .idle_wait = std::chrono::milliseconds(1)});
  REQUIRE(log);
  const auto cursor_path = dir.path / "stream.cursor";
  const auto saved_cursor = dir.path / "cursor.at-crash";
  std::uint64_t first_delivered = 0;
  {
    auto first = kafka_forwarder::start(options_for(dir, kafka));
    REQUIRE(first);
    append_auctions(**log, 0, 500);
    (*log)->flush();
    REQUIRE(eventually([&] { return caught_up(dir.path); }));
    // The cursor as the process left it at a crash: taken now, while lines after it are still
    // to be confirmed (they will be, and then sent again by the next forwarder).
    std::filesystem::copy_file(cursor_path, saved_cursor);
    append_auctions(**log, 500, 800);
    (*log)->flush();
    REQUIRE(eventually([&] { return caught_up(dir.path); }));
    first_delivered = (*first)->stats().delivered;
    (*first)->stop();
  }
  CHECK(first_delivered >= 1600);
  // The crash: the cursor saves after the copy never reached the disk.
  std::filesystem::copy_file(saved_cursor, cursor_path,
                             std::filesystem::copy_options::overwrite_existing);

  append_auctions(**log, 800, 1200);
  (*log)->stop();
  auto second = kafka_forwarder::start(options_for(dir, kafka));
  REQUIRE(second);
  REQUIRE(eventually([&] { return caught_up(dir.path); }));
  const auto resumed = (*second)->stats();
  (*second)->stop();
  // It resent the 600 lines after the old cursor and sent the 800 new ones, not the whole log
  // (more only if a batch had to be retried on a loaded machine).
  INFO("sent " << resumed.sent << ", failed " << resumed.failed);
  CHECK(resumed.sent >= 1400);
  CHECK(resumed.sent < 2400);
  if (resumed.failed == 0) CHECK(resumed.sent == 1400);

  const std::vector<consumed> messages = kafka.read_all();
  CHECK(messages.size() >= 1600 + 1400);
  std::size_t distinct = 0;
  const auto wins = wins_after_dedup(messages, distinct);
  CHECK(distinct == 2400);
  check_every_win_once(wins, 1200);
}

TEST_CASE("a bad forwarder option or librdkafka property is refused by name", "[stream][unit]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  mock_kafka kafka(1);
  auto message_of = [&](forwarder_options o) {
    auto f = kafka_forwarder::start(std::move(o));
    REQUIRE_FALSE(f);
    return f.error().message;
  };
  auto o = options_for(dir, kafka);
  o.topic.clear();
  CHECK_THAT(message_of(o), Catch::Contains("topic: required"));
  o = options_for(dir, kafka);
  o.source = "a/b";
  CHECK_THAT(message_of(o), Catch::Contains("source"));
  o = options_for(dir, kafka);
  o.properties = {{"acks", "1"}};
  CHECK_THAT(message_of(o), Catch::Contains("\"acks\""));
  o = options_for(dir, kafka);
  o.properties = {{"no.such.property", "1"}};
  CHECK_THAT(message_of(o), Catch::Contains("no.such.property"));
  o = options_for(dir, kafka);
  dir.write("stream.cursor", "garbage\n");
  CHECK_THAT(message_of(o), Catch::Contains("stream.cursor"));
}
