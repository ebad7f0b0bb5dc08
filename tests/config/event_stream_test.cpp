#include "bidder/config/event_stream.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "bidder/config/loader.hpp"

using bidder::config::check_event_stream;

namespace {

std::string error_of(const std::string& stream_json) {
  auto config = bidder::config::parse("{\"event_stream\": " + stream_json + "}", "<test>");
  if (config) return "";
  CHECK(config.error().code == bidder::errc::invalid_config);
  return config.error().message;
}

}  // namespace

TEST_CASE("an event stream is checked when enabled, naming the field", "[config][unit]") {
  const auto [json, expected] = GENERATE(table<std::string, std::string>({
      {R"({"enabled": true, "topic": "t"})", "event_stream.brokers: required when enabled"},
      {R"({"enabled": true, "brokers": "k1:9092,k2", "topic": "t"})",
       "event_stream.brokers[1]: \"k2\": want host:port"},
      {R"({"enabled": true, "brokers": "k1:0", "topic": "t"})", "event_stream.brokers[0]"},
      {R"({"enabled": true, "brokers": "k1:9092"})", "event_stream.topic: required"},
      {R"({"enabled": true, "brokers": "k1:9092", "topic": "a/b"})",
       "event_stream.topic: 1 to 249"},
      {R"({"enabled": true, "brokers": "k1:9092", "topic": ".."})", "event_stream.topic"},
      {R"({"enabled": true, "brokers": "k1:9092", "topic": "t", "source": "a b"})",
       "event_stream.source: 1 to 128 url-safe"},
      {R"({"enabled": true, "brokers": "k1:9092", "topic": "t", "message_timeout_ms": 5})",
       "event_stream.message_timeout_ms: from 1000"},
      {R"({"enabled": true, "brokers": "k1:9092", "topic": "t", "properties": {"acks": "1"}})",
       "event_stream.properties[\"acks\"]: set by the bidder"},
      {R"({"enabled": true, "brokers": "k1:9092", "topic": "t", "brokerz": "x"})", "brokerz"},
  }));
  INFO(json);
  CHECK_THAT(error_of(json), Catch::Contains(expected));
}

TEST_CASE("a complete or disabled event stream is accepted", "[config][unit]") {
  CHECK(
      error_of(R"({"enabled": true, "brokers": "kafka-1:9092,[::1]:9093", "topic": "bidder.events",
                     "source": "bidder-eu-1", "message_timeout_ms": 10000,
                     "properties": {"compression.type": "zstd"}})") == "");
  CHECK(error_of(R"({"enabled": false, "brokers": "not checked"})") == "");
  bidder::config::v1::EventStream off;
  CHECK(check_event_stream(off));
}
