// File: bidder/events/event_log.hpp
//
// The attribution log: bid threads and notice handlers `append` events; a background writer
// thread turns them into JSON lines (events.proto) in rotating files
// DIR/events-YYYYMMDD-HHMMSS-N.jsonl. The bid path never waits for the disk: `append` copies the
// event into a bounded lock-free queue (one CAS, no lock, no allocation, no system call) and,
// when the queue is full, drops the event and counts it instead of blocking.
//
//   auto log = bidder::events::event_log::open({.dir = data_dir / "events"});
//   if (!log) return log.error();                      // control plane: startup
//   ...
//   (*log)->append(e);                                 // bid path, any thread; false: dropped
//   ...
//   (*log)->stop();                                    // shutdown: drains, fsyncs, closes
//
// Files: the writer opens a file at its first line (so idle hours leave no empty files), names
// it after the UTC time it opened it (the injected clock), and starts a new one when the next
// line would take it past `max_file_bytes` or when the clock enters a new hour. A closed file is
// fsynced, and so is the directory. A file is never reopened or appended to after a restart:
// `N` counts up until the name is free.
//
// Write errors (a full disk, a removed directory, EIO) never stop the writer: the lines of the
// failed write are counted as `lost`, the file is closed, and the next batch opens a new file.
// A line cut short by a failed write is skipped (and counted) by `bidder report`.
//
// Durability: lines reach the OS page cache within about `idle_wait` of their append; they
// reach the disk at rotation, `stop()`, or the kernel's own writeback. A crash of the process
// loses the queue (at most `queue_capacity` events, typically a few ms of traffic); a crash of
// the machine also loses what the kernel had not written back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bidder/core/bounded_queue.hpp"
#include "bidder/core/error.hpp"
#include "bidder/events/detail/event_record.hpp"
#include "bidder/events/event.hpp"

namespace bidder::events {

struct event_log_options {
  /// Directory of the log files; created (with parents) by `open`. Required.
  std::filesystem::path dir{};
  /// Queue slots (768 bytes each), a power of two from 2 to 2^24. Default 65536 (48 MiB): 1.3 s
  /// of 50,000 events/s, to ride out a slow fsync at rotation.
  std::size_t queue_capacity = 65536;
  /// A file is rotated before a line would take it past this size (a lone line longer than it
  /// still gets written, alone in its file). Default 256 MiB.
  std::uint64_t max_file_bytes = std::uint64_t{256} << 20;
  /// How long the writer sleeps when the queue is empty before looking again. Producers never
  /// wake it (that would be a system call on the bid path), so this bounds the delay from
  /// `append` to the page cache. Default 5 ms (250 events a batch at 50,000/s).
  std::chrono::milliseconds idle_wait{5};
  /// Wall clock for file names and rotation (not for event times, which the caller sets).
  /// Default: std::chrono::system_clock::now. Called only by the writer thread.
  std::function<std::chrono::system_clock::time_point()> clock{};
};

/// Counters, each monotonic. After `flush()` (no appends running):
/// accepted == written + lost.
struct event_log_stats {
  std::uint64_t accepted = 0;      ///< appends that entered the queue
  std::uint64_t dropped = 0;       ///< appends refused: queue full, or the log stopped
  std::uint64_t truncated = 0;     ///< accepted events whose ids were cut to fit a slot
  std::uint64_t written = 0;       ///< lines the OS accepted into a file
  std::uint64_t lost = 0;          ///< lines of failed writes or of a file that would not open
  std::uint64_t write_errors = 0;  ///< failed open/write/fsync/close calls
  std::uint64_t files_opened = 0;  ///< files created
};

class event_log {
 public:
  /// Creates `options.dir` and starts the writer thread. Errors: invalid_config (no dir, a
  /// capacity that is not a power of two, max_file_bytes 0), io_error (the directory cannot be
  /// created or is not writable), each naming the option or the directory.
  [[nodiscard]] static result<std::unique_ptr<event_log>> open(event_log_options options);

  /// Calls `stop()`.
  ~event_log();
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  /// Queues `e` for writing. Any thread, concurrently; never blocks, never allocates, makes no
  /// system call: one CAS and a copy of at most 768 bytes. Returns false when the event was
  /// dropped (queue full, or the log is stopped) and counts it in `dropped()`.
  bool append(const event& e) noexcept;

  /// Control plane (tests, shutdown, a report on demand): waits until every event appended
  /// before the call is written to the OS, or counted lost. Not on the bid path. Must not be
  /// called while the writer is paused (it would wait for ever). Thread-safe.
  void flush();

  /// Drains the queue, writes, fsyncs and closes the current file and the directory, and joins
  /// the writer. Later appends are dropped (counted). Call it after the bid threads have
  /// stopped appending. Idempotent; thread-safe.
  void stop();

  /// Appends refused so far (queue full or stopped). Any thread; a relaxed read.
  std::uint64_t dropped() const noexcept;
  /// All counters. Any thread; relaxed reads, so only approximately simultaneous.
  event_log_stats stats() const noexcept;
  const std::filesystem::path& dir() const noexcept { return options_.dir; }

  /// Tests: parks the writer between batches and returns once it is parked, so a test can fill
  /// the queue. `resume_writer_for_test` lets it go on.
  void pause_writer_for_test();
  void resume_writer_for_test();
  /// Tests: the next `count` file writes write half their bytes and then fail with EIO, as a
  /// full or failing disk would.
  void fail_next_writes_for_test(int count) noexcept;

 private:
  explicit event_log(event_log_options options);
  void run_writer() noexcept;
  // Writer thread only (detail in event_log.cpp).
  bool drain_batch();
  void add_line(const detail::event_record& record);
  void write_buffer();
  void close_file(bool sync);
  bool open_file();
  std::size_t write_all(const char* data, std::size_t size);  // bytes written

  const event_log_options options_;
  bounded_queue<detail::event_record> queue_;

  // Bid-path counters, each on its own line away from the queue's positions.
  alignas(cache_line_bytes) std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> truncated_{0};
  std::atomic<bool> accepting_{true};
  // Writer counters.
  alignas(cache_line_bytes) std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> files_opened_{0};
  std::atomic<int> fail_writes_for_test_{0};

  // Control between the writer and control-plane callers (never taken on the bid path).
  std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable writer_progress_;
  std::uint64_t done_ = 0;  // events popped and written (or lost), published under mutex_
  int flush_waiters_ = 0;
  bool stopping_ = false;
  bool pause_requested_ = false;
  bool paused_ = false;
  bool writer_exited_ = false;

  // Writer-thread state.
  int fd_ = -1;
  std::uint64_t file_bytes_ = 0;                     // bytes in the open file
  std::int64_t file_hour_ = 0;                       // UTC hours since the epoch at open
  std::uint64_t next_file_number_ = 0;               // N in the next file name
  std::chrono::system_clock::time_point batch_now_;  // the clock, read once a batch
  std::string buffer_;                               // formatted lines not yet written
  std::uint64_t buffer_lines_ = 0;
  std::string line_;  // the line being formatted

  std::thread writer_;
  std::once_flag stop_once_;
};

}  // namespace bidder::events
