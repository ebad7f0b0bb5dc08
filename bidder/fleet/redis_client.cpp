#include "bidder/fleet/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>

namespace bidder::fleet {

std::string redis_endpoint::text() const {
  return unix_path.empty() ? host + ":" + std::to_string(port) : "unix:" + unix_path;
}

result<redis_endpoint> parse_redis_endpoint(std::string_view text) {
  redis_endpoint out;
  if (text.starts_with("unix:")) {
    out.unix_path = std::string(text.substr(5));
    if (out.unix_path.empty()) {
      return make_error(errc::invalid_config, "--redis unix: needs a socket path");
    }
    return out;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return make_error(errc::invalid_config,
                      "--redis takes host:port or unix:/path, not \"" + std::string(text) + "\"");
  }
  out.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc() || end != port.data() + port.size() || out.port <= 0 || out.port > 65535) {
    return make_error(errc::invalid_config,
                      "--redis port must be 1..65535, not \"" + std::string(port) + "\"");
  }
  return out;
}

namespace {

redis_value copy_reply(const redisReply* r) {
  redis_value v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.kind = redis_value::type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      v.kind = r->type == REDIS_REPLY_STRING   ? redis_value::type::string
               : r->type == REDIS_REPLY_STATUS ? redis_value::type::status
                                               : redis_value::type::error;
      v.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.kind = redis_value::type::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      v.kind = redis_value::type::nil;
      break;
  }
  return v;
}

}  // namespace

struct redis_client::impl {
  redis_endpoint endpoint;
  timeval timeout{};
  redisContext* context = nullptr;

  void drop() noexcept {
    if (context != nullptr) redisFree(context);
    context = nullptr;
  }
  result<void> connect() {
    context = endpoint.unix_path.empty()
                  ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, timeout)
                  : redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), timeout);
    if (context == nullptr) return make_error(errc::io_error, "redis: out of memory");
    if (context->err != 0) {
      std::string why = "redis " + endpoint.text() + ": " + context->errstr;
      drop();
      return make_error(errc::io_error, why);
    }
    if (redisSetTimeout(context, timeout) != REDIS_OK) {
      drop();
      return make_error(errc::io_error, "redis: cannot set the timeout");
    }
    return {};
  }
};

redis_client::redis_client(redis_endpoint endpoint, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->timeout.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  impl_->timeout.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
}

redis_client::~redis_client() { impl_->drop(); }

bool redis_client::connected() const noexcept { return impl_->context != nullptr; }

result<std::vector<redis_value>> redis_client::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (impl_->context == nullptr) {
    if (auto r = impl_->connect(); !r) return r.error();
  }
  redisContext* c = impl_->context;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& a : command) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      impl_->drop();
      return make_error(errc::io_error, "redis: cannot queue a command");
    }
  }
  std::vector<redis_value> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = std::string("redis ") + impl_->endpoint.text() + ": " +
                        (c->err != 0 ? c->errstr : "no reply");
      impl_->drop();
      return make_error(errc::io_error, why);
    }
    out.push_back(copy_reply(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return out;
}

}  // namespace bidder::fleet
