#include "bidder/events/event_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>

#include "bidder/core/background_thread.hpp"
#include "bidder/events/log_file_name.hpp"

namespace bidder::events {
namespace {

// Lines are gathered and written in chunks of this size: few system calls, and a chunk stays in
// the L2 cache while it is formatted.
constexpr std::size_t write_chunk_bytes = 256 * 1024;
// Events the writer pops before it publishes progress (flush waiters) and looks at the clock
// and at pause/stop requests again.
constexpr std::size_t max_batch_events = 8192;
// How many taken names ("...-N.jsonl" exists) open_file skips before it counts an error.
constexpr int max_name_attempts = 1000;
// Largest queue: 2^24 slots of 768 bytes, 12 GiB, is already more than a bidder should hold.
constexpr std::size_t max_queue_capacity = std::size_t{1} << 24;

std::int64_t hours_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::hours>(t).time_since_epoch().count();
}

void sync_directory(const std::filesystem::path& dir, std::atomic<std::uint64_t>& errors) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) errors.fetch_add(1, std::memory_order_relaxed);
  if (fd >= 0) ::close(fd);
}

}  // namespace

result<std::unique_ptr<event_log>> event_log::open(event_log_options options) {
  if (options.dir.empty()) {
    return make_error(errc::invalid_config, "event log: dir: must name a directory");
  }
  const std::size_t capacity = options.queue_capacity;
  if (capacity < 2 || capacity > max_queue_capacity || (capacity & (capacity - 1)) != 0) {
    return make_error(errc::invalid_config, "event log: queue_capacity " +
                                                std::to_string(capacity) +
                                                ": must be a power of two from 2 to " +
                                                std::to_string(max_queue_capacity));
  }
  if (options.max_file_bytes == 0) {
    return make_error(errc::invalid_config, "event log: max_file_bytes: must be > 0");
  }
  if (options.idle_wait <= std::chrono::milliseconds::zero()) {
    return make_error(errc::invalid_config, "event log: idle_wait: must be > 0");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return make_error(errc::io_error, "event log: " + options.dir.string() +
                                          ": cannot create the directory: " + ec.message());
  }
  if (::access(options.dir.c_str(), W_OK | X_OK) != 0) {
    return make_error(errc::io_error, "event log: " + options.dir.string() +
                                          ": not a writable directory: " + std::strerror(errno));
  }
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  std::unique_ptr<event_log> log(new event_log(std::move(options)));
  log->writer_ = std::thread([raw = log.get()] {
    yield_to_bid_threads();
    raw->run_writer();
  });
  return log;
}

event_log::event_log(event_log_options options)
    : options_(std::move(options)), queue_(options_.queue_capacity) {
  buffer_.reserve(write_chunk_bytes + 4096);
  line_.reserve(4096);
}

event_log::~event_log() { stop(); }

bool event_log::append(const event& e) noexcept {
  if (!accepting_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  bool cut = false;
  const bool queued =
      queue_.try_push([&](detail::event_record& slot) { cut = detail::pack(e, slot); });
  if (!queued) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (cut) truncated_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void event_log::flush() {
  const std::uint64_t target = queue_.claimed();
  std::unique_lock lock(mutex_);
  ++flush_waiters_;
  wake_writer_.notify_all();
  writer_progress_.wait(lock, [&] { return done_ >= target || writer_exited_; });
  --flush_waiters_;
}

void event_log::stop() {
  std::call_once(stop_once_, [this] {
    accepting_.store(false, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_writer_.notify_all();
    if (writer_.joinable()) writer_.join();
  });
}

std::uint64_t event_log::dropped() const noexcept {
  return dropped_.load(std::memory_order_relaxed);
}

event_log_stats event_log::stats() const noexcept {
  event_log_stats s;
  s.accepted = queue_.claimed();
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.truncated = truncated_.load(std::memory_order_relaxed);
  s.written = written_.load(std::memory_order_relaxed);
  s.lost = lost_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.files_opened = files_opened_.load(std::memory_order_relaxed);
  return s;
}

void event_log::pause_writer_for_test() {
  std::unique_lock lock(mutex_);
  pause_requested_ = true;
  wake_writer_.notify_all();
  writer_progress_.wait(lock, [&] { return paused_ || stopping_; });
}

void event_log::resume_writer_for_test() {
  {
    std::lock_guard lock(mutex_);
    pause_requested_ = false;
  }
  wake_writer_.notify_all();
}

void event_log::fail_next_writes_for_test(int count) noexcept {
  fail_writes_for_test_.store(count, std::memory_order_relaxed);
}

void event_log::run_writer() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (pause_requested_ && !stopping_) {
      paused_ = true;
      writer_progress_.notify_all();
      wake_writer_.wait(lock, [&] { return !pause_requested_ || stopping_; });
      paused_ = false;
    }
    const bool stopping = stopping_;
    lock.unlock();
    const bool popped_any = drain_batch();
    lock.lock();
    done_ = queue_.popped();
    writer_progress_.notify_all();
    if (popped_any) continue;
    // Nothing ready. When stopping, an append that claimed a slot before `accepting_` turned
    // false may still be copying its event: wait for it, then leave.
    if (stopping && queue_.popped() == queue_.claimed()) break;
    const bool someone_waits = stopping || (flush_waiters_ > 0 && done_ < queue_.claimed());
    if (someone_waits) {
      // A producer is between its claim and its publish (a few hundred ns): look again soon.
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
      continue;
    }
    wake_writer_.wait_for(lock, options_.idle_wait, [&] {
      return stopping_ || pause_requested_ || (flush_waiters_ > 0 && done_ < queue_.claimed());
    });
  }
  lock.unlock();
  write_buffer();
  close_file(/*sync=*/true);
  lock.lock();
  done_ = queue_.popped();
  writer_exited_ = true;
  writer_progress_.notify_all();
}

bool event_log::drain_batch() {
  batch_now_ = options_.clock();
  // Hourly rotation also closes (and fsyncs) an idle file once its hour is over.
  if (fd_ >= 0 && hours_since_epoch(batch_now_) != file_hour_) close_file(/*sync=*/true);
  std::size_t popped = 0;
  while (popped < max_batch_events) {
    const detail::event_record* record = queue_.front();
    if (record == nullptr) break;
    add_line(*record);
    queue_.pop();
    ++popped;
  }
  write_buffer();
  return popped != 0;
}

void event_log::add_line(const detail::event_record& record) {
  line_.clear();
  append_json_line(detail::unpack(record), record.truncated, line_);
  const std::uint64_t pending = file_bytes_ + buffer_.size();
  if (pending != 0 && pending + line_.size() > options_.max_file_bytes) {
    write_buffer();
    close_file(/*sync=*/true);
  }
  buffer_ += line_;
  ++buffer_lines_;
  if (buffer_.size() >= write_chunk_bytes) write_buffer();
}

void event_log::write_buffer() {
  if (buffer_.empty()) return;
  if (fd_ < 0 && !open_file()) {
    lost_.fetch_add(buffer_lines_, std::memory_order_relaxed);
  } else {
    const std::size_t done = write_all(buffer_.data(), buffer_.size());
    if (done == buffer_.size()) {
      written_.fetch_add(buffer_lines_, std::memory_order_relaxed);
      file_bytes_ += done;
    } else {
      // Lines that made it whole are in the file (report reads them); the rest are lost, and
      // a line cut in the middle is skipped by the report.
      const auto whole =
          static_cast<std::uint64_t>(std::count(buffer_.data(), buffer_.data() + done, '\n'));
      written_.fetch_add(whole, std::memory_order_relaxed);
      lost_.fetch_add(buffer_lines_ - whole, std::memory_order_relaxed);
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      close_file(/*sync=*/false);
    }
  }
  buffer_.clear();
  buffer_lines_ = 0;
}

std::size_t event_log::write_all(const char* data, std::size_t size) {
  std::size_t done = 0;
  if (fail_writes_for_test_.load(std::memory_order_relaxed) > 0) {
    fail_writes_for_test_.fetch_sub(1, std::memory_order_relaxed);
    size /= 2;  // write half, then fail as a full disk would
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }
  while (done < size) {
    const ssize_t n = ::write(fd_, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

bool event_log::open_file() {
  for (int attempt = 0; attempt < max_name_attempts; ++attempt) {
    const std::filesystem::path path =
        options_.dir / format_log_file_name(batch_now_, next_file_number_++);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      fd_ = fd;
      file_bytes_ = 0;
      file_hour_ = hours_since_epoch(batch_now_);
      files_opened_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (errno != EEXIST) break;  // a missing directory, a full disk...: retried next batch
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void event_log::close_file(bool sync) {
  if (fd_ < 0) return;
  if (sync && ::fsync(fd_) != 0) write_errors_.fetch_add(1, std::memory_order_relaxed);
  if (::close(fd_) != 0) write_errors_.fetch_add(1, std::memory_order_relaxed);
  fd_ = -1;
  file_bytes_ = 0;
  // The new file's name must be durable too, not only its bytes.
  if (sync) sync_directory(options_.dir, write_errors_);
}

}  // namespace bidder::events
