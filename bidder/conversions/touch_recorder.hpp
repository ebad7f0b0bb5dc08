// File: bidder/conversions/touch_recorder.hpp
//
// Records touches (wins, bills, clicks) into the conversion store without making the notice
// handler wait for RocksDB: `offer` copies the touch into a bounded lock-free queue (one CAS, no
// allocation, no system call) and a writer thread merges batches into the store. When the
// queue is full the touch is dropped and counted: attribution loses that touch, the notice
// still succeeds.
//
//   conversions::touch_recorder recorder(store);
//   recorder.offer(touch_kind::view, now, price_micros, {bid, campaign, creative, exchange,
//                  currency}, user_hashes);           // notice thread
//   recorder.flush();                                 // tests, shutdown
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>

#include "bidder/conversions/conversion_store.hpp"
#include "bidder/core/bounded_queue.hpp"

namespace bidder::conversions {

/// The ids of a touch, as views (copied by `offer`).
struct touch_ids {
  std::string_view bid_id;
  std::string_view campaign_id;
  std::string_view creative_id;
  std::string_view exchange;
  std::string_view currency;
  std::string_view experiment;  // the bid's user's experiment and arm; empty: none
  std::string_view arm;
};

struct touch_recorder_stats {
  std::uint64_t offered = 0;       // entered the queue
  std::uint64_t dropped = 0;       // refused: queue full or stopped
  std::uint64_t recorded = 0;      // written to the store
  std::uint64_t write_errors = 0;  // touches of failed store writes
};

class touch_recorder {
 public:
  /// Most user hashes kept per touch (the notice URL's signed list is shorter).
  static constexpr std::size_t max_users = 8;

  /// `capacity`: queue slots (a power of two; about 700 bytes each).
  explicit touch_recorder(conversion_store& store, std::size_t capacity = 16384,
                          std::chrono::milliseconds idle_wait = std::chrono::milliseconds(5));
  ~touch_recorder();
  touch_recorder(const touch_recorder&) = delete;
  touch_recorder& operator=(const touch_recorder&) = delete;

  /// Any thread; never blocks or allocates. False when dropped.
  bool offer(touch_kind kind, unix_seconds at, std::int64_t price_micros, const touch_ids& ids,
             std::span<const std::uint64_t> users) noexcept;
  /// Waits until every touch offered before the call is written (or failed). Not while stopped.
  void flush();
  /// Writes what is queued and joins the writer. Idempotent.
  void stop();
  touch_recorder_stats stats() const noexcept;

 private:
  struct slot {
    std::int64_t at;
    std::int64_t price_micros;
    std::uint64_t users[max_users];
    std::uint8_t user_count;
    touch_kind kind;
    std::uint8_t length[6];
    char text[6 * max_touch_id_bytes];
  };
  void run() noexcept;
  bool drain();

  conversion_store& store_;
  const std::chrono::milliseconds idle_wait_;
  bounded_queue<slot> queue_;
  alignas(cache_line_bytes) std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> accepting_{true};
  alignas(cache_line_bytes) std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> write_errors_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable progress_;
  std::uint64_t done_ = 0;  // slots popped and handled, under mutex_
  bool stopping_ = false;
  bool exited_ = false;
  std::once_flag stop_once_;
  std::thread writer_;
};

}  // namespace bidder::conversions
