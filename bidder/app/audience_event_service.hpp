// File: bidder/app/audience_event_service.hpp
//
// Browsing events in the running bidder (docs/audience-events.md), wiring bidder/browsing to
// the audience store:
// - POST /admin/events: the body's lines checked, rate-limited per source, matched against the
//   rules, and their memberships written in one WriteBatch before the answer: synced, or with
//   post_durability SYNC_EVERY_SECOND written unsynced while a periodic_task syncs the
//   write-ahead log once a second (off the bid threads);
// - the segment pixel (GET /segment on the bid port): the bid thread copies the event into a
//   bounded lock-free queue (never a RocksDB call on a bid thread); the writer thread drains it,
//   matches the rules and writes each batch as one WriteBatch of merge operands;
// - the rules follow config reloads; metrics.
//
//   auto events = std::make_unique<audience_event_service>(store, config.audience_events(), {});
//   engine::auction_services services{.events = events->sink(next)};
//   auto [status, body] = events->post(request_body, wall_now());
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "bidder/audience/segment_store.hpp"
#include "bidder/browsing/ingest.hpp"
#include "bidder/browsing/rules.hpp"
#include "bidder/core/bounded_queue.hpp"
#include "bidder/core/periodic_task.hpp"
#include "bidder/core/rate_limiter.hpp"
#include "bidder/engine/event_sink.hpp"

namespace bidder::app {

struct audience_event_options {
  /// Pixel events the queue holds (a power of two); more are refused (503) and counted.
  std::size_t queue_slots = 4096;
  /// Most pixel events one store write takes.
  std::size_t batch_events = 1024;
  /// With post_durability SYNC_EVERY_SECOND: how often the write-ahead log is synced.
  std::chrono::nanoseconds wal_sync_interval = std::chrono::seconds(1);
  /// The clock of the sources' rate limits and of the log's syncs, in nanoseconds (tests
  /// inject one).
  std::function<std::int64_t()> clock_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
};

class audience_event_service {
 public:
  audience_event_service(audience::segment_store& store, const config::v1::AudienceEvents& config,
                         audience_event_options options = {});
  ~audience_event_service();

  /// The sink to give the engine: segment pixels here, everything else to `next` (may be null).
  engine::event_sink* sink(engine::event_sink* next);

  /// A reloaded config's sources and rules (events being written finish under the old ones).
  /// post_durability is read at start only: a reload keeps the one the service started with.
  void reload(const config::v1::AudienceEvents& config);

  /// The post_durability the service started with (what a POST's 200 promises).
  config::v1::AudienceEvents::PostDurability durability() const noexcept { return durability_; }

  /// POST /admin/events: the HTTP status and the JSON answer (browsing::to_json, or
  /// {"error":...} with 503 when the store failed and nothing was written).
  std::pair<unsigned, std::string> post(std::string_view body, unix_seconds now);

  /// Appends the Prometheus text of the event metrics.
  void write_metrics(std::string& out) const;

  /// Waits until the pixel events queued so far are written (tests, tools).
  void flush();
  /// Writes what is queued and stops the writer thread, then syncs the write-ahead log a last
  /// time (SYNC_EVERY_SECOND) and stops its thread.
  void stop();
  /// SYNC_EVERY_SECOND: the syncing thread looks at the clock now, syncing if due, and this
  /// returns once it has (tests move the injected clock, then call this). Otherwise nothing.
  void check_wal_sync();

 private:
  class pixel_sink;
  // One pixel event, copied by the bid thread: its texts back to back (the handler bounds the
  // query at 2048 bytes, so they fit).
  struct pixel_slot {
    std::int64_t at;
    std::uint16_t source_bytes, action_bytes, url_bytes;
    std::uint8_t ids;
    std::array<std::uint16_t, engine::max_segment_pixel_ids> id_bytes;
    char text[2200];
  };
  bool queue_pixel(const engine::segment_pixel_event& e) noexcept;
  void count_pixel_answer(unsigned status) noexcept;
  void run_writer() noexcept;
  std::size_t drain();
  std::shared_ptr<const browsing::rule_set> rules() const;
  void count(const browsing::ingest_result& r, int via);

  audience::segment_store& store_;
  audience_event_options options_;
  config::v1::AudienceEvents::PostDurability durability_;
  std::unique_ptr<periodic_task> wal_sync_;  // SYNC_EVERY_SECOND only
  mutable std::mutex rules_mutex_;
  std::shared_ptr<const browsing::rule_set> rules_;  // under rules_mutex_
  std::mutex post_mutex_;  // one POST at a time: the sources' limits below
  std::map<std::string, std::unique_ptr<rate_limiter>, std::less<>> source_limits_;
  std::unique_ptr<pixel_sink> sink_;

  bounded_queue<pixel_slot> queue_;
  std::mutex writer_mutex_;
  std::condition_variable writer_wake_, writer_progress_;
  std::uint64_t done_ = 0;  // under writer_mutex_: events taken off the queue and handled
  bool stopping_ = false;   // under writer_mutex_
  std::once_flag stop_once_;
  std::thread writer_;

  // Metrics; `via` 0: post, 1: pixel.
  std::array<std::array<std::atomic<std::uint64_t>, 3>, 2>
      results_{};  // accepted, unmatched, refused
  std::array<std::atomic<std::uint64_t>, browsing::refusal_count> refused_by_{};
  std::atomic<std::uint64_t> memberships_{0};
  std::array<std::atomic<std::uint64_t>, 2> batches_{};
  std::atomic<std::uint64_t> write_errors_{0}, dropped_{0};
  std::array<std::atomic<std::uint64_t>, 6> pixel_answers_{};  // 204 400 404 405 429 503
};

}  // namespace bidder::app
