// File: bidder/app/conversion_service.hpp
//
// Conversions and attribution in the running bidder (docs/conversions.md), wiring
// bidder/conversions to the rest:
// - the engine's event sink: every accepted win, bill and click also records a touch (through
//   the touch recorder's queue: the notice handler never waits on RocksDB); bids and notices
//   go on to the event log;
// - POST /admin/conversions: ingest (attribute, de-duplicate, commit synced), then the
//   CONVERSION events into the event log, then clear their outbox entries. Entries left by a
//   crash are re-sent at start-up;
// - the conversion pixel (GET /conversion on the bid port): the bid thread queues it
//   (lock-free, bounded), and the pixel thread ingests the queue as postback lines;
// - DELETE /admin/users/{id} also forgets the user's touches;
// - metrics.
//
//   auto conv = conversion_service::open({.dir = data_dir / "conversions", ...}, snapshots, log);
//   engine::auction_services services{.events = (*conv)->sink(&event_log_sink)};
//   auto [status, body] = (*conv)->post(request_body, wall_now());
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "bidder/conversions/conversion_store.hpp"
#include "bidder/conversions/ingest.hpp"
#include "bidder/conversions/touch_recorder.hpp"
#include "bidder/core/bounded_queue.hpp"
#include "bidder/engine/event_sink.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/events/event_log.hpp"

namespace bidder::app {

struct conversion_service_options {
  std::filesystem::path dir{};
  /// The secret the bid path hashes user ids with (the notice URLs' signed hashes).
  std::uint64_t user_hash_secret = 0;
  /// Tests: the store's commits without fsync (never in production).
  bool sync_commits = true;
};

class conversion_service {
 public:
  /// Opens the store and re-sends the outbox a crash left. Errors: io_error.
  [[nodiscard]] static result<std::unique_ptr<conversion_service>> open(
      conversion_service_options options, const engine::snapshot_holder& snapshots,
      events::event_log& log);
  ~conversion_service();

  /// The sink to give the engine: touches here, then everything to `next` (may be null).
  engine::event_sink* sink(engine::event_sink* next);

  /// POST /admin/conversions: the HTTP status and the JSON answer (ingest.hpp's to_json, or
  /// {"error":...} with 503 when the store failed and nothing was stored).
  std::pair<unsigned, std::string> post(std::string_view body, unix_seconds now);

  /// Forgets the touches of this audience user key. True when there were any.
  [[nodiscard]] result<bool> forget_user(std::string_view user_key);

  /// Appends the Prometheus text of the conversion metrics.
  void write_metrics(std::string& out) const;

  /// Writes the queued touches and pixels and stops their threads (before the event log stops).
  void stop();

  /// Tests: waits until the pixels queued so far are ingested.
  void flush_pixels();

  /// Tests: waits until the touches offered so far are in the store.
  void flush_touches() { recorder_->flush(); }
  conversions::conversion_store& store() { return *store_; }
  conversions::touch_recorder_stats touch_stats() const { return recorder_->stats(); }

 private:
  class touch_sink;
  conversion_service(conversion_service_options options, const engine::snapshot_holder& snapshots,
                     events::event_log& log, std::unique_ptr<conversions::conversion_store> store);
  /// Appends outbox entries to the event log, flushes it and clears the entries appended.
  result<void> send_to_log(
      const std::vector<std::pair<std::uint64_t, conversions::stored_conversion>>& entries);

  conversion_service_options options_;
  const engine::snapshot_holder& snapshots_;
  events::event_log& log_;
  std::unique_ptr<conversions::conversion_store> store_;
  std::unique_ptr<conversions::touch_recorder> recorder_;
  std::unique_ptr<touch_sink> sink_;
  std::mutex post_mutex_;  // one ingest at a time (de-duplication reads, then commits)

  // Pixels: postback lines queued by bid threads, ingested by the pixel thread.
  struct pixel_line {
    std::uint16_t size;
    char text[1022];
  };
  bool queue_pixel(const engine::pixel_conversion& p) noexcept;
  void run_pixels() noexcept;
  std::size_t drain_pixels();
  bounded_queue<pixel_line> pixels_{1024};
  std::atomic<std::uint64_t> pixels_dropped_{0};
  std::mutex pixel_mutex_;
  std::condition_variable pixel_wake_, pixel_progress_;
  std::uint64_t pixels_done_ = 0;  // under pixel_mutex_
  bool pixels_stopping_ = false;   // under pixel_mutex_
  std::once_flag stop_once_;
  std::thread pixel_thread_;

  // Metrics.
  std::atomic<std::uint64_t> accepted_{0}, unmatched_{0}, duplicate_{0}, refused_{0};
  std::atomic<std::uint64_t> failed_posts_{0};
  std::array<std::atomic<std::uint64_t>, conversions::unmatched_reason_count> unmatched_by_{};
  std::atomic<std::uint64_t> lookups_{0}, lookup_nanos_{0};
  std::atomic<std::uint64_t> outbox_pending_{0};
};

}  // namespace bidder::app
