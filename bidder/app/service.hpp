// File: bidder/app/service.hpp
//
// The composition root: loads the config, opens the audience store, builds the campaign
// snapshot, and starts the bid and admin servers. `bidder serve` runs one; the integration tests
// start one on port 0 so they exercise exactly what production runs.
//
//   auto svc = app::service::start({.config_path = "campaigns.json", .data_dir = dir}, std::cerr);
//   ... (*svc)->bid_port() ...
//   (*svc)->stop(std::chrono::seconds(5));
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "bidder/audience/user_cache.hpp"
#include "bidder/core/error.hpp"

namespace bidder::app {

struct serve_options {
  /// Config file; none: the embedded demo config.
  std::optional<std::string> config_path;
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:8081";
  /// RocksDB lives in <data_dir>/audience.
  std::string data_dir = "data";
  /// Bid-serving threads; 0: one per core.
  unsigned threads = 0;
  /// Bearer token for the admin port; required when admin_listen is not a loopback address.
  std::string admin_token;
  /// Overload (http::server_options): a bid request that waited longer than `shed_queued` for
  /// its worker is answered 204 (0: never), and so are all while the worker's thread is busy
  /// `shed_busy_share` of 10 ms (0: never).
  std::chrono::microseconds shed_queued{1'000};
  double shed_busy_share = 0.98;
  /// Hostile connections (http::server_options): a bid request must arrive whole within
  /// `request_timeout` of its first byte; at `max_connections_per_thread` the connection with
  /// the least progress is closed to make room for a new one.
  std::chrono::milliseconds request_timeout{1'000};
  std::size_t max_connections_per_thread = 10'000;
  /// The audience store's block cache and row cache (audience::rocksdb_options).
  std::size_t audience_cache_bytes = std::size_t{1} << 30;
  std::size_t audience_row_cache_bytes = 0;
  std::size_t audience_user_cache_bytes = audience::user_cache_auto;
  /// How often bid shading re-estimates its win curves from the notices (shading::book_keeper).
  std::chrono::milliseconds shading_period{2'000};
  /// Fleet mode (docs/fleet.md): Redis as "host:port" or "unix:/path" (--redis); empty: one
  /// process, no Redis. Then budgets are leased in slices of `fleet_slice_units` (currency
  /// units), synced every `fleet_sync`, and a lease lasts `fleet_lease_ttl` unless renewed.
  std::string redis;
  double fleet_slice_units = 1.0;
  std::chrono::milliseconds fleet_sync{100};
  std::chrono::milliseconds fleet_lease_ttl{3'000};
};

class service {
 public:
  /// Starts everything and prints start-up lines to `log`. Errors: invalid_config, io_error.
  [[nodiscard]] static result<std::unique_ptr<service>> start(const serve_options& options,
                                                              std::ostream& log);
  ~service();

  std::uint16_t bid_port() const noexcept;
  std::uint16_t admin_port() const noexcept;
  /// Re-reads the config and swaps in the new campaigns atomically; on error the old ones keep
  /// serving. The campaigns are the latest revision's (docs/console.md), or the file's when they
  /// changed since last imported (a new revision). Returns a one-line summary. Thread-safe.
  [[nodiscard]] result<std::string> reload();
  /// Waits until the touches and pixel conversions queued so far are applied (tests, tools).
  void flush_conversions();
  /// Waits until the segment pixel events queued so far are in the audience store (tests,
  /// tools; POST /admin/events writes before it answers).
  void flush_audience_events();
  /// From now on GET /readyz answers 503 "draining" while both ports keep serving, so load
  /// balancers and Kubernetes move traffic away before stop() closes the ports. Idempotent.
  void begin_drain() noexcept;
  /// Stops accepting, lets in-flight requests finish (at most `grace`), then stops. Calls
  /// begin_drain() first.
  void stop(std::chrono::milliseconds grace);

 private:
  struct impl;
  explicit service(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

/// Loads and compiles a config (the file, or the demo when `path` is empty) exactly as `serve`
/// would, without serving. Returns a summary line. Errors: io_error, invalid_config.
[[nodiscard]] result<std::string> check_config(const std::optional<std::string>& path);

}  // namespace bidder::app
