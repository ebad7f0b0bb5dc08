// File: bidder/fleet/config_sync.hpp
//
// Fleet-wide campaign revisions (docs/fleet.md "Distribution"). Redis holds the fleet's latest
// revision number (`<prefix>config:revision`) and that revision whole (`<prefix>config:set`, the
// campaign console's JSON). A change on any bidder is first claimed here: a Lua script sets both
// keys only when Redis's latest is the revision the change was based on, so two bidders cannot
// both make revision N+1 (the loser answers 409 stale). A thread polls the number every sync
// interval (one GET) and, when Redis is ahead of the serving revision, fetches the set and hands
// it to `apply` (the console validates, compiles, records and swaps it in). An empty Redis is
// seeded with the local latest revision. This component knows only numbers and strings; the
// console owns the JSON.
//
//   fleet::config_sync sync({.redis = endpoint}, {.serving = ..., .latest = ..., .apply = ...});
//   sync.start();  auto r = sync.claim(4, 5, json);  ...  sync.stop();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/fleet/redis_client.hpp"

namespace bidder::fleet {

struct config_sync_options {
  redis_endpoint redis;
  std::chrono::milliseconds interval{100};
  std::chrono::milliseconds timeout{200};
  std::string key_prefix = "bidder:";
};

struct config_sync_hooks {
  /// The revision serving here.
  std::function<std::uint64_t()> serving;
  /// The local latest revision and its JSON (seeds an empty Redis).
  std::function<std::pair<std::uint64_t, std::string>()> latest;
  /// Applies the fleet's revision (its JSON). An error is logged and counted; the old set serves.
  std::function<result<void>(const std::string& set_json)> apply;
};

class config_sync {
 public:
  config_sync(config_sync_options options, config_sync_hooks hooks);
  ~config_sync();
  config_sync(const config_sync&) = delete;
  config_sync& operator=(const config_sync&) = delete;

  void start();
  void stop();

  /// Makes `next` (its JSON) the fleet's latest if Redis's latest is `base`. Returns nullopt when
  /// claimed, else Redis's latest revision (stale). Error io_error when Redis does not answer:
  /// the change is refused, so no bidder serves a revision the others cannot learn of. Runs on
  /// the sync thread (the caller waits, bounded), so Redis I/O never happens on an admin thread.
  [[nodiscard]] result<std::optional<std::uint64_t>> claim(std::uint64_t base, std::uint64_t next,
                                                           const std::string& set_json);

  /// Prometheus text: bidder_fleet_config_*.
  void write_metrics(std::string& out) const;

 private:
  using claim_result = result<std::optional<std::uint64_t>>;
  struct claim_request {
    std::uint64_t base, next;
    std::string set_json;
    std::promise<claim_result> reply;
  };
  void run();
  void poll_once();
  claim_result claim_now(std::uint64_t base, std::uint64_t next, const std::string& set_json);

  config_sync_options options_;
  config_sync_hooks hooks_;
  redis_client redis_;  // the sync thread's only
  std::string revision_key_, set_key_;
  std::atomic<std::uint64_t> applied_{0}, refused_{0}, errors_{0}, fleet_revision_{0};

  std::mutex run_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool running_ = false;                                // between start() and stop()
  std::vector<std::shared_ptr<claim_request>> claims_;  // under run_mutex_
  std::thread thread_;
};

}  // namespace bidder::fleet
