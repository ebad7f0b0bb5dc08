// File: bidder/stream/kafka_forwarder.hpp
//
// Sends the event log to a Kafka topic (docs/event-stream.md), at least once: a background
// thread tails the log's files (spool.hpp), produces each line with librdkafka's idempotent
// producer (acks=all), and saves the cursor (cursor.hpp) only after the broker confirmed every
// line before it. The bid path never sees it: the event log's writer stays the only thing the
// bid path feeds, and its files are the spool while the broker is down (the forwarder retries
// with exponential backoff and catches up from the files when the broker is back).
//
// Each message: key and header "event_id" = "<source>/<file>:<offset>" (the same each time a
// line is sent, so a consumer drops repeats by it), header "source", value = the JSON line
// (proto/bidder/events/v1/events.proto). The partition is chosen by the murmur2 hash of
// "<source>/<file>" (the key up to its last ':'), so the lines of one file stay in order in
// one partition.
//
//   auto f = kafka_forwarder::start({.events_dir = dir / "events",
//                                    .cursor_path = dir / "stream.cursor",
//                                    .brokers = "kafka-1:9092", .topic = "bidder-events",
//                                    .source = "bidder-eu-1"});
//   if (!f) return f.error();     // bad options, an unreadable cursor, a bad property
//   (*f)->stats();                // metrics, any thread
//   (*f)->stop();                 // shutdown: what is not confirmed is resent at the next start
//
// librdkafka is confined to kafka_forwarder.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "bidder/core/error.hpp"

namespace bidder::stream {

struct forwarder_options {
  /// The event log's directory (<data-dir>/events). Required.
  std::filesystem::path events_dir{};
  /// The cursor file (<data-dir>/stream.cursor). Required.
  std::filesystem::path cursor_path{};
  /// Kafka bootstrap servers, "host:port[,host:port...]". Required.
  std::string brokers{};
  /// The topic. Required.
  std::string topic{};
  /// This bidder's name in event ids: unique among the bidders feeding the topic, without '/'.
  /// Required.
  std::string source{};
  /// More librdkafka producer properties (security.protocol, sasl.*, compression.type...).
  /// enable.idempotence and acks are set by the forwarder and may not be given here.
  std::map<std::string, std::string> properties{};
  /// Most lines, and about the most bytes, sent before waiting for their confirmations.
  /// Defaults 10000 and 4 MiB.
  std::size_t batch_lines = 10000;
  std::size_t batch_bytes = std::size_t{4} << 20;
  /// How long the forwarder sleeps when the spool has no new line. Default 50 ms.
  std::chrono::milliseconds idle_wait{50};
  /// librdkafka's message.timeout.ms: how long a line may wait for the broker before it counts
  /// as failed and its batch is retried from the cursor. Default 30 s.
  std::chrono::milliseconds message_timeout{30'000};
  /// Wait after a failed batch: min_backoff, doubling up to max_backoff, reset by a success.
  /// Defaults 200 ms and 30 s.
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{30'000};
};

/// Counters (monotonic) and gauges. Any thread; relaxed reads.
struct forwarder_stats {
  std::uint64_t sent = 0;           ///< lines handed to the producer (repeats included)
  std::uint64_t delivered = 0;      ///< lines the broker confirmed
  std::uint64_t failed = 0;         ///< lines whose delivery failed (they are sent again)
  std::uint64_t skipped = 0;        ///< cut fragments of the spool never sent (spool.hpp)
  std::uint64_t retries = 0;        ///< batches retried after a failure
  std::uint64_t cursor_errors = 0;  ///< failed cursor saves (the next save retries)
  std::uint64_t read_errors = 0;    ///< failed reads of the spool (retried with backoff)
  std::uint64_t lag_bytes = 0;      ///< spool bytes after the cursor, as of the last batch
  bool connected = false;  ///< the last batch was confirmed whole (idle: the last probe answered)
};

class kafka_forwarder {
 public:
  /// Checks the options, loads the cursor, makes the producer, and starts the thread. Errors:
  /// invalid_config naming the option or the librdkafka property, io_error for the cursor.
  [[nodiscard]] static result<std::unique_ptr<kafka_forwarder>> start(forwarder_options options);

  /// Calls stop().
  ~kafka_forwarder();
  kafka_forwarder(const kafka_forwarder&) = delete;
  kafka_forwarder& operator=(const kafka_forwarder&) = delete;

  /// Stops the thread within about a second: lines in flight that the broker has not confirmed
  /// by then are dropped from the producer and resent at the next start (the cursor is behind
  /// them). Idempotent.
  void stop();

  forwarder_stats stats() const noexcept;

  struct impl;

 private:
  explicit kafka_forwarder(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace bidder::stream
