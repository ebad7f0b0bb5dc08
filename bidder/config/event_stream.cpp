#include "bidder/config/event_stream.hpp"

#include <charconv>
#include <string>

#include "bidder/core/names.hpp"

namespace bidder::config {
namespace {

error invalid(const std::string& field, std::string_view what) {
  return make_error(errc::invalid_config, "event_stream." + field + ": " + std::string(what));
}

bool is_topic(std::string_view topic) noexcept {
  if (topic.empty() || topic.size() > max_kafka_topic_bytes || topic == "." || topic == "..") {
    return false;
  }
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// "host:port": a host (a name, an IPv4 address, or an IPv6 one in brackets) and a port 1..65535.
bool is_host_port(std::string_view broker) noexcept {
  const std::size_t colon = broker.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = broker.substr(0, colon);
  const std::string_view port = broker.substr(colon + 1);
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535) {
    return false;
  }
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == ',' || c == '/') return false;
  }
  return true;
}

}  // namespace

bool is_event_stream_owned_property(std::string_view name) noexcept {
  for (std::string_view owned :
       {"enable.idempotence", "acks", "request.required.acks", "bootstrap.servers",
        "metadata.broker.list", "message.timeout.ms", "delivery.timeout.ms"}) {
    if (name == owned) return true;
  }
  return false;
}

result<void> check_event_stream(const v1::EventStream& stream) {
  if (!stream.enabled()) return {};
  if (stream.brokers().empty()) return invalid("brokers", "required when enabled");
  std::string_view rest = stream.brokers();
  for (int i = 0;; ++i) {
    const std::size_t comma = rest.find(',');
    const std::string_view broker = rest.substr(0, comma);
    if (!is_host_port(broker)) {
      std::string what = "\"";
      what.append(broker).append("\": want host:port (port 1 to 65535)");
      return invalid("brokers[" + std::to_string(i) + "]", what);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (stream.topic().empty()) return invalid("topic", "required when enabled");
  if (!is_topic(stream.topic())) {
    return invalid("topic", "1 to 249 characters of [A-Za-z0-9._-], not \".\" or \"..\"");
  }
  if (!stream.source().empty() && !is_url_safe_name(stream.source())) {
    return invalid("source", "1 to 128 url-safe characters ([A-Za-z0-9._~-])");
  }
  if (stream.message_timeout_ms() != 0 &&
      (stream.message_timeout_ms() < 1000 || stream.message_timeout_ms() > 3'600'000)) {
    return invalid("message_timeout_ms", "from 1000 to 3600000");
  }
  for (const auto& [name, value] : stream.properties()) {
    if (name.empty()) return invalid("properties", "an empty property name");
    if (is_event_stream_owned_property(name)) {
      std::string field = "properties[\"";
      field.append(name).append("\"]");
      return invalid(field, "set by the bidder for at-least-once delivery; remove it");
    }
  }
  return {};
}

}  // namespace bidder::config
