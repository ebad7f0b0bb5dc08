#include "bidder/fleet/config_sync.hpp"

#include <pthread.h>

#include <csignal>
#include <iostream>

namespace bidder::fleet {
namespace {

// KEYS: revision, set. ARGV: base, next, set JSON. -1 when claimed, else Redis's latest.
constexpr const char* claim_script = R"lua(
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current ~= tonumber(ARGV[1]) then return current end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
return -1
)lua";

std::uint64_t number_of(const redis_value& v) {
  if (v.kind == redis_value::type::integer) return static_cast<std::uint64_t>(v.integer);
  if (v.kind == redis_value::type::string) return std::strtoull(v.text.c_str(), nullptr, 10);
  return 0;
}

}  // namespace

config_sync::config_sync(config_sync_options options, config_sync_hooks hooks)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      redis_(options_.redis, options_.timeout),
      revision_key_(options_.key_prefix + "config:revision"),
      set_key_(options_.key_prefix + "config:set") {}

config_sync::~config_sync() { stop(); }

void config_sync::start() {
  std::lock_guard lock(run_mutex_);
  if (running_) return;
  stopping_ = false;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void config_sync::stop() {
  {
    std::lock_guard lock(run_mutex_);
    if (!running_) return;
    stopping_ = true;
    running_ = false;
  }
  wake_.notify_all();
  thread_.join();
}

void config_sync::run() {
  // hiredis writes with write(2): a Redis gone away must not SIGPIPE the process (as the agent).
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
  auto next_poll = std::chrono::steady_clock::now();
  std::unique_lock lock(run_mutex_);
  while (!stopping_) {
    std::vector<std::shared_ptr<claim_request>> claims;
    claims.swap(claims_);
    lock.unlock();
    for (auto& c : claims) c->reply.set_value(claim_now(c->base, c->next, c->set_json));
    if (std::chrono::steady_clock::now() >= next_poll) {
      poll_once();
      next_poll = std::chrono::steady_clock::now() + options_.interval;
    }
    lock.lock();
    wake_.wait_until(lock, next_poll, [this] { return stopping_ || !claims_.empty(); });
  }
  for (auto& c : claims_) {
    c->reply.set_value(make_error(errc::io_error, "fleet: the bidder is stopping"));
  }
  claims_.clear();
}

result<std::optional<std::uint64_t>> config_sync::claim(std::uint64_t base, std::uint64_t next,
                                                        const std::string& set_json) {
  auto request = std::make_shared<claim_request>();
  request->base = base;
  request->next = next;
  request->set_json = set_json;
  auto reply = request->reply.get_future();
  {
    std::lock_guard lock(run_mutex_);
    if (!running_) {
      return make_error(errc::io_error, "fleet: the revision sync is not running");
    }
    claims_.push_back(std::move(request));
  }
  wake_.notify_all();
  // A poll in progress (two calls) and the claim (connect + one call), each bounded.
  if (reply.wait_for(options_.timeout * 4) != std::future_status::ready) {
    return make_error(errc::io_error, "fleet: Redis did not answer in time");
  }
  return reply.get();
}

config_sync::claim_result config_sync::claim_now(std::uint64_t base, std::uint64_t next,
                                                 const std::string& set_json) {
  auto r = redis_.pipeline({{"EVAL", claim_script, "2", revision_key_, set_key_,
                             std::to_string(base), std::to_string(next), set_json}});
  if (!r) return make_error(errc::io_error, "fleet: Redis did not answer: " + r.error().message);
  const redis_value& v = r->front();
  if (v.is_error()) return make_error(errc::io_error, "fleet: Redis: " + v.text);
  if (v.kind == redis_value::type::integer && v.integer < 0) {
    fleet_revision_.store(next, std::memory_order_relaxed);
    return std::optional<std::uint64_t>();
  }
  return std::optional<std::uint64_t>(number_of(v));
}

void config_sync::poll_once() {
  auto r = redis_.pipeline({{"GET", revision_key_}});
  if (!r || r->front().is_error()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t fleet = number_of(r->front());
  fleet_revision_.store(fleet, std::memory_order_relaxed);
  if (fleet == 0) {
    // The first bidder of an empty Redis seeds it with its own latest revision (a claim based on
    // 0, so of several first bidders one wins and the others take its revision).
    auto [n, text] = hooks_.latest();
    if (n > 0) {
      auto claimed = claim_now(0, n, text);
      if (!claimed) errors_.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (fleet <= hooks_.serving()) return;
  auto set = redis_.pipeline({{"GET", set_key_}});
  if (!set || set->front().kind != redis_value::type::string) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (auto applied = hooks_.apply(set->front().text); !applied) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    // One line per refused revision and poll: the operator must see why the fleet diverges.
    std::cerr << "bidder: fleet revision " + std::to_string(fleet) +
                     " refused, the serving revision keeps serving: " + applied.error().message +
                     "\n";
    return;
  }
  applied_.fetch_add(1, std::memory_order_relaxed);
}

void config_sync::write_metrics(std::string& out) const {
  auto line = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  line("bidder_fleet_config_revision", "gauge",
       "The fleet's latest campaign revision in Redis, as last read (docs/fleet.md).",
       fleet_revision_.load(std::memory_order_relaxed));
  line("bidder_fleet_config_applied_total", "counter", "Fleet campaign revisions applied here.",
       applied_.load(std::memory_order_relaxed));
  line("bidder_fleet_config_refused_total", "counter",
       "Fleet campaign revisions refused here (validation or compilation; logged).",
       refused_.load(std::memory_order_relaxed));
  line("bidder_fleet_config_errors_total", "counter", "Revision polls Redis did not answer.",
       errors_.load(std::memory_order_relaxed));
}

}  // namespace bidder::fleet
