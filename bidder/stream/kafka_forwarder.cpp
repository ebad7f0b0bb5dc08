#include "bidder/stream/kafka_forwarder.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bidder/core/background_thread.hpp"
#include "bidder/stream/cursor.hpp"
#include "bidder/stream/spool.hpp"

namespace bidder::stream {
namespace {

using steady = std::chrono::steady_clock;

// After stop(), how long the thread still waits for confirmations of the batch in flight before
// it purges it (the purged lines are resent at the next start).
constexpr std::chrono::milliseconds stop_grace{1000};

// While idle, how often the forwarder asks the broker whether it is there, and how long it waits
// for the answer (the forwarder's own thread; stop() may wait this long).
constexpr std::chrono::seconds probe_period{5};
constexpr std::chrono::milliseconds probe_timeout{1000};

enum class line_status : std::uint8_t { pending, delivered, failed };

// Properties the forwarder owns: at-least-once needs idempotence and acks from every in-sync
// replica, and the brokers and the timeout have options of their own.
constexpr const char* owned_properties[] = {"enable.idempotence",    "acks",
                                            "request.required.acks", "bootstrap.servers",
                                            "metadata.broker.list",  "message.timeout.ms",
                                            "delivery.timeout.ms"};

// The lines of one spool file go to one partition, in order: the murmur2 hash (Kafka's default,
// the same as the Java client's) of the key up to its last ':', "<source>/<file>".
std::int32_t partition_by_file(const rd_kafka_topic_t* topic, const void* key, std::size_t size,
                               std::int32_t partitions, void* topic_opaque, void* message_opaque) {
  const auto* bytes = static_cast<const char*>(key);
  const std::string_view id(bytes, size);
  const std::size_t colon = id.rfind(':');
  const std::size_t prefix = colon == std::string_view::npos ? size : colon;
  return rd_kafka_msg_partitioner_murmur2(topic, key, prefix, partitions, topic_opaque,
                                          message_opaque);
}

void drop_log(const rd_kafka_t*, int, const char*, const char*) {
  // librdkafka logs every refused connection while the broker is down; the forwarder's metrics
  // (connected, failed, lag) say the same without flooding stderr.
}

}  // namespace

struct kafka_forwarder::impl {
  explicit impl(forwarder_options o, spool_position start)
      : options(std::move(o)), reader(options.events_dir, start), confirmed(std::move(start)) {}

  forwarder_options options;
  spool_reader reader;
  spool_position confirmed;  // the cursor: every line before it is confirmed

  // Forwarder thread.
  rd_kafka_t* producer = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  spool_batch batch;
  std::vector<line_status> status;
  std::size_t outstanding = 0;

  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> cursor_errors{0};
  std::atomic<std::uint64_t> read_errors{0};
  std::atomic<std::uint64_t> lag_bytes{0};
  std::atomic<bool> connected{false};

  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;                    // under mutex
  std::atomic<bool> stop_requested{false};  // read without the mutex while polling
  std::atomic<std::int64_t> stop_deadline_ns{0};
  std::thread thread;
  std::once_flag stop_once;

  [[nodiscard]] result<void> make_producer();
  void destroy_producer() noexcept;
  void run() noexcept;
  bool send_batch();  // true: every line confirmed
  void wait_for_confirmations();
  void probe_broker();  // idle: sets `connected` from a metadata request
  steady::time_point next_probe{};
  bool wait(std::chrono::milliseconds how_long);  // false: stop requested

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    const auto index = reinterpret_cast<std::uintptr_t>(message->_private);
    if (index >= self->status.size() || self->status[index] != line_status::pending) return;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->status[index] = line_status::delivered;
      self->delivered.fetch_add(1, std::memory_order_relaxed);
    } else {
      self->status[index] = line_status::failed;
      self->failed.fetch_add(1, std::memory_order_relaxed);
    }
    --self->outstanding;
  }

  static void on_error(rd_kafka_t*, int error, const char*, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || error == RD_KAFKA_RESP_ERR__TRANSPORT) {
      self->connected.store(false, std::memory_order_relaxed);
    }
  }
};

result<void> kafka_forwarder::impl::make_producer() {
  char reason[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value) -> result<void> {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) !=
        RD_KAFKA_CONF_OK) {
      return make_error(errc::invalid_config,
                        "event_stream: librdkafka property \"" + name + "\": " + reason);
    }
    return {};
  };
  result<void> r;
  for (const auto& [name, value] : options.properties) {
    if (r = set(name, value); !r) break;
  }
  if (r) r = set("bootstrap.servers", options.brokers);
  if (r) r = set("enable.idempotence", "true");  // implies acks=all, ordered retries
  if (r) r = set("acks", "all");
  if (r) r = set("message.timeout.ms", std::to_string(options.message_timeout.count()));
  if (!r) {
    rd_kafka_conf_destroy(conf);
    return r;
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &impl::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &impl::on_error);
  rd_kafka_conf_set_log_cb(conf, &drop_log);
  producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return make_error(errc::invalid_config, std::string("event_stream: producer: ") + reason);
  }
  rd_kafka_topic_conf_t* topic_conf = rd_kafka_topic_conf_new();
  rd_kafka_topic_conf_set_partitioner_cb(topic_conf, &partition_by_file);
  topic = rd_kafka_topic_new(producer, options.topic.c_str(), topic_conf);
  if (topic == nullptr) {
    const std::string why = rd_kafka_err2str(rd_kafka_last_error());
    destroy_producer();
    return make_error(errc::invalid_config,
                      "event_stream: topic \"" + options.topic + "\": " + why);
  }
  return {};
}

void kafka_forwarder::impl::destroy_producer() noexcept {
  if (producer == nullptr) return;
  rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer, 0);  // the purged lines' reports
  if (topic != nullptr) rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(producer);
  topic = nullptr;
  producer = nullptr;
  // Reports that never came (the producer is gone) count as failed.
  for (line_status& s : status) {
    if (s == line_status::pending) {
      s = line_status::failed;
      failed.fetch_add(1, std::memory_order_relaxed);
    }
  }
  outstanding = 0;
}

void kafka_forwarder::impl::probe_broker() {
  // Idle, `connected` would otherwise keep the last batch's answer for ever: ask the broker for
  // the topic's metadata (one round trip, off the bid path).
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(producer, 0, topic, &metadata, static_cast<int>(probe_timeout.count()));
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  connected.store(err == RD_KAFKA_RESP_ERR_NO_ERROR, std::memory_order_relaxed);
  next_probe = steady::now() + probe_period;
}

bool kafka_forwarder::impl::wait(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex);
  return !wake.wait_for(lock, how_long, [&] { return stopping; });
}

void kafka_forwarder::impl::wait_for_confirmations() {
  // librdkafka fails a line after message.timeout.ms, but not always: the idempotent producer
  // keeps lines it may have sent (and, in 2.0, lines of a topic whose metadata it never got)
  // until the broker answers. Past twice the timeout the producer is replaced: its lines count
  // as failed and are sent again from the cursor by a new producer (a new producer id).
  const auto give_up = steady::now() + 2 * options.message_timeout;
  while (outstanding > 0) {
    rd_kafka_poll(producer, 50);
    if (outstanding == 0) break;
    const auto now = steady::now();
    const bool stop_due = stop_requested.load(std::memory_order_relaxed) &&
                          now >= steady::time_point(std::chrono::nanoseconds(
                                     stop_deadline_ns.load(std::memory_order_relaxed)));
    if (stop_due || now >= give_up) {
      destroy_producer();
      break;
    }
  }
}

bool kafka_forwarder::impl::send_batch() {
  const std::size_t count = batch.lines.size();
  status.assign(count, line_status::pending);
  outstanding = count;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string id = batch.id(i, options.source);
    const std::string_view text = batch.text(i);
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(text.data()), text.size()),
          RD_KAFKA_V_KEY(id.data(), id.size()),
          RD_KAFKA_V_HEADER("event_id", id.data(), static_cast<ssize_t>(id.size())),
          RD_KAFKA_V_HEADER("source", options.source.data(),
                            static_cast<ssize_t>(options.source.size())),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(i))),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer, 10);  // confirmations make room
        continue;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status[i] = line_status::failed;
        failed.fetch_add(1, std::memory_order_relaxed);
        --outstanding;
      } else {
        sent.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    }
  }
  wait_for_confirmations();
  std::size_t prefix = 0;
  while (prefix < count && status[prefix] == line_status::delivered) ++prefix;
  if (prefix > 0) {
    confirmed = batch.end_of(prefix - 1);
    if (!save_cursor(options.cursor_path, confirmed)) {
      cursor_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return prefix == count;
}

void kafka_forwarder::impl::run() noexcept {
  yield_to_bid_threads();
  std::chrono::milliseconds backoff = options.min_backoff;
  while (!stop_requested.load(std::memory_order_relaxed)) {
    if (producer == nullptr) {
      if (!make_producer()) {  // it was made once at start; only a fatal error brings us here
        if (!wait(backoff)) break;
        backoff = std::min(backoff * 2, options.max_backoff);
        continue;
      }
    }
    batch.clear();
    const auto read = reader.read(batch, options.batch_lines, options.batch_bytes);
    skipped.store(reader.skipped_fragments(), std::memory_order_relaxed);
    if (!read) {  // the disk, not the broker: read_errors, and the same backoff
      read_errors.fetch_add(1, std::memory_order_relaxed);
      reader.seek(confirmed);
      if (!wait(backoff)) break;
      backoff = std::min(backoff * 2, options.max_backoff);
      continue;
    }
    if (batch.lines.empty()) {
      confirmed = reader.position();  // past cut fragments only
      lag_bytes.store(reader.lag_bytes(), std::memory_order_relaxed);
      rd_kafka_poll(producer, 0);
      if (steady::now() >= next_probe) probe_broker();
      if (!wait(options.idle_wait)) break;
      continue;
    }
    const bool whole = send_batch();
    if (whole) {
      lag_bytes.store(reader.lag_bytes(), std::memory_order_relaxed);
      connected.store(true, std::memory_order_relaxed);
      next_probe = steady::now() + probe_period;
      backoff = options.min_backoff;
      continue;
    }
    // Resend from the last confirmed line (at-least-once: a consumer drops repeats by id).
    connected.store(false, std::memory_order_relaxed);
    retries.fetch_add(1, std::memory_order_relaxed);
    reader.seek(confirmed);
    lag_bytes.store(reader.lag_bytes(), std::memory_order_relaxed);
    char reason[512];
    if (producer != nullptr &&
        rd_kafka_fatal_error(producer, reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      destroy_producer();  // e.g. the idempotence state was lost: a new producer starts anew
    }
    if (!wait(backoff)) break;
    backoff = std::min(backoff * 2, options.max_backoff);
  }
  destroy_producer();
}

result<std::unique_ptr<kafka_forwarder>> kafka_forwarder::start(forwarder_options options) {
  auto missing = [](const char* name) {
    return make_error(errc::invalid_config, std::string("event stream: ") + name + ": required");
  };
  if (options.events_dir.empty()) return missing("events_dir");
  if (options.cursor_path.empty()) return missing("cursor_path");
  if (options.brokers.empty()) return missing("brokers");
  if (options.topic.empty()) return missing("topic");
  if (options.source.empty()) return missing("source");
  if (options.source.find('/') != std::string::npos) {
    return make_error(errc::invalid_config, "event stream: source: must not contain '/'");
  }
  for (const char* owned : owned_properties) {
    if (options.properties.contains(owned)) {
      return make_error(errc::invalid_config, std::string("event stream: property \"") + owned +
                                                  "\": set by the forwarder, not configurable");
    }
  }
  if (options.batch_lines == 0 || options.batch_bytes == 0) {
    return make_error(errc::invalid_config, "event stream: batch_lines, batch_bytes: must be > 0");
  }
  if (options.min_backoff.count() <= 0 || options.max_backoff < options.min_backoff ||
      options.idle_wait.count() <= 0 || options.message_timeout.count() <= 0) {
    return make_error(errc::invalid_config,
                      "event stream: idle_wait, message_timeout, min_backoff must be > 0 and "
                      "max_backoff >= min_backoff");
  }
  auto cursor = load_cursor(options.cursor_path);
  if (!cursor) return cursor.error();
  auto state = std::make_unique<impl>(std::move(options), cursor->value_or(spool_position{}));
  if (auto r = state->make_producer(); !r) return r.error();
  std::unique_ptr<kafka_forwarder> forwarder(new kafka_forwarder(std::move(state)));
  forwarder->impl_->thread = std::thread([raw = forwarder->impl_.get()] { raw->run(); });
  return forwarder;
}

kafka_forwarder::kafka_forwarder(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

kafka_forwarder::~kafka_forwarder() { stop(); }

void kafka_forwarder::stop() {
  std::call_once(impl_->stop_once, [this] {
    impl_->stop_deadline_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      (steady::now() + stop_grace).time_since_epoch())
                                      .count(),
                                  std::memory_order_relaxed);
    impl_->stop_requested.store(true, std::memory_order_relaxed);
    {
      std::lock_guard lock(impl_->mutex);
      impl_->stopping = true;
    }
    impl_->wake.notify_all();
    if (impl_->thread.joinable()) impl_->thread.join();
  });
}

forwarder_stats kafka_forwarder::stats() const noexcept {
  const impl& s = *impl_;
  return {.sent = s.sent.load(std::memory_order_relaxed),
          .delivered = s.delivered.load(std::memory_order_relaxed),
          .failed = s.failed.load(std::memory_order_relaxed),
          .skipped = s.skipped.load(std::memory_order_relaxed),
          .retries = s.retries.load(std::memory_order_relaxed),
          .cursor_errors = s.cursor_errors.load(std::memory_order_relaxed),
          .read_errors = s.read_errors.load(std::memory_order_relaxed),
          .lag_bytes = s.lag_bytes.load(std::memory_order_relaxed),
          .connected = s.connected.load(std::memory_order_relaxed)};
}

}  // namespace bidder::stream
