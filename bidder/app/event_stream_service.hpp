// File: bidder/app/event_stream_service.hpp
//
// The config's `event_stream` (docs/event-stream.md) made into a running Kafka forwarder
// (bidder/stream) over <data-dir>/events, with its cursor at <data-dir>/stream.cursor, and its
// bidder_event_stream_* metrics. Disabled: no thread, no metrics. Read at start only.
//
//   auto stream = event_stream_service::start(config.event_stream(), data_dir);
//   if (!stream) return stream.error();
//   (*stream)->write_metrics(out);      // GET /metrics
//   (*stream)->stop();                  // after the event log stopped
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/error.hpp"

namespace bidder::stream {
class kafka_forwarder;
}

namespace bidder::app {

class event_stream_service {
 public:
  /// Errors: invalid_config (a librdkafka property), io_error (an unreadable cursor).
  [[nodiscard]] static result<std::unique_ptr<event_stream_service>> start(
      const config::v1::EventStream& config, const std::filesystem::path& data_dir);
  ~event_stream_service();

  bool enabled() const noexcept { return forwarder_ != nullptr; }
  /// The bidder_event_stream_* series (nothing when disabled).
  void write_metrics(std::string& out) const;
  void stop();

 private:
  explicit event_stream_service(std::unique_ptr<stream::kafka_forwarder> forwarder);
  std::unique_ptr<stream::kafka_forwarder> forwarder_;
};

}  // namespace bidder::app
