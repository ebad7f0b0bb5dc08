#include "bidder/app/event_stream_service.hpp"

#include <unistd.h>

#include <map>

#include "bidder/stream/kafka_forwarder.hpp"

namespace bidder::app {
namespace {

// 30 s: the proto's documented default for message_timeout_ms.
constexpr std::chrono::milliseconds default_message_timeout{30'000};

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "bidder";
  return name;
}

}  // namespace

result<std::unique_ptr<event_stream_service>> event_stream_service::start(
    const config::v1::EventStream& config, const std::filesystem::path& data_dir) {
  if (!config.enabled()) {
    return std::unique_ptr<event_stream_service>(new event_stream_service(nullptr));
  }
  stream::forwarder_options options{
      .events_dir = data_dir / "events",
      .cursor_path = data_dir / "stream.cursor",
      .brokers = config.brokers(),
      .topic = config.topic(),
      .source = config.source().empty() ? host_name() : config.source(),
      .properties = std::map<std::string, std::string>(config.properties().begin(),
                                                       config.properties().end())};
  options.message_timeout = config.message_timeout_ms() == 0
                                ? default_message_timeout
                                : std::chrono::milliseconds(config.message_timeout_ms());
  auto forwarder = stream::kafka_forwarder::start(std::move(options));
  if (!forwarder) return forwarder.error();
  return std::unique_ptr<event_stream_service>(new event_stream_service(std::move(*forwarder)));
}

event_stream_service::event_stream_service(std::unique_ptr<stream::kafka_forwarder> forwarder)
    : forwarder_(std::move(forwarder)) {}

event_stream_service::~event_stream_service() { stop(); }

void event_stream_service::stop() {
  if (forwarder_) forwarder_->stop();
}

void event_stream_service::write_metrics(std::string& out) const {
  if (!forwarder_) return;
  const stream::forwarder_stats s = forwarder_->stats();
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
  };
  metric("bidder_event_stream_sent_total", "counter",
         "Event log lines handed to the Kafka producer, resends included.", s.sent);
  metric("bidder_event_stream_delivered_total", "counter",
         "Event log lines the Kafka broker confirmed (acks=all), resends included.", s.delivered);
  metric("bidder_event_stream_failed_total", "counter",
         "Event log lines whose delivery failed; they are sent again from the cursor.", s.failed);
  metric("bidder_event_stream_retries_total", "counter",
         "Batches retried from the cursor after a failure (with exponential backoff).", s.retries);
  metric("bidder_event_stream_skipped_total", "counter",
         "Cut fragments at the end of event log files, never sent.", s.skipped);
  metric("bidder_event_stream_cursor_errors_total", "counter",
         "Failed saves of <data-dir>/stream.cursor (the next save retries).", s.cursor_errors);
  metric("bidder_event_stream_read_errors_total", "counter",
         "Failed reads of the event log's files by the forwarder (retried with backoff).",
         s.read_errors);
  metric("bidder_event_stream_lag_bytes", "gauge",
         "Bytes of the event log not yet confirmed by Kafka (the spool).", s.lag_bytes);
  metric("bidder_event_stream_connected", "gauge",
         "1 when the last batch reached Kafka whole (idle: the broker answered the last "
         "5-second probe), 0 while it is unreachable.",
         s.connected ? 1 : 0);
}

}  // namespace bidder::app
