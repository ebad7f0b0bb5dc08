// File: bidder/config/event_stream.hpp
//
// Validation of the config's `event_stream` (the event log forwarded to Kafka;
// docs/event-stream.md), called by the loader. Every error names its field, e.g.
//   event_stream.brokers[1]: "kafka-2": want host:port
// librdkafka itself checks the `properties` values when the bidder starts.
#pragma once

#include <string_view>

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/error.hpp"

namespace bidder::config {

/// Longest topic name Kafka accepts.
inline constexpr std::size_t max_kafka_topic_bytes = 249;

/// True for the librdkafka properties the forwarder sets itself (at-least-once needs them).
bool is_event_stream_owned_property(std::string_view name) noexcept;

/// Errors: invalid_config naming the field. A disabled stream is not checked.
[[nodiscard]] result<void> check_event_stream(const v1::EventStream& stream);

}  // namespace bidder::config
