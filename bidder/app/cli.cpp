#include "bidder/app/cli.hpp"

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/app/audience_cli.hpp"
#include "bidder/app/config_cli.hpp"
#include "bidder/app/service.hpp"
#include "bidder/core/build_info.hpp"
#include "bidder/http/io_backend.hpp"
#include "bidder/report/cli.hpp"
#include "bidder/training/cli.hpp"

namespace bidder::app {
namespace {

constexpr std::string_view usage = R"(usage:
  bidder serve [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]
               [--data-dir DIR] [--threads N] [--shed-queued-ms MS] [--shed-busy PERCENT]
               [--audience-cache-mb MB] [--audience-row-cache-mb MB]
               [--audience-user-cache-mb MB|auto]
               [--request-timeout-ms MS] [--max-connections N] [--drain-delay-ms MS]
               [--redis HOST:PORT|unix:PATH [--fleet-slice UNITS] [--fleet-sync-ms MS]
                [--fleet-lease-ttl-ms MS]]
      Serves OpenRTB bid requests on POST /bid. Without --config it runs the embedded demo
      (demo campaigns, and demo users written into an empty audience store).
      Defaults: --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:8081 --data-dir data
      --threads <cores> --shed-queued-ms 1 (a bid request that waited longer for its thread is
      answered 204; 0: never) --shed-busy 98 (a bid thread busy that % of 10 ms answers bid
      requests 204 until it catches up; 0: never). SIGHUP or POST /admin/reload re-reads the config;
      SIGTERM/SIGINT finish in-flight requests and exit 0. GET /readyz on the admin port is 503
      from the signal on; --drain-delay-ms 0 (up to 600000) keeps both ports serving that long
      after it, so load balancers see /readyz fail before the ports close (a second signal
      ends the wait). See docs/deploy.md.
      Audience memory: --audience-cache-mb 1024 (block cache; give it twice the store's size
      on disk, about 45 bytes per user) --audience-row-cache-mb 0 (RocksDB's row cache; about
      150 bytes per user) --audience-user-cache-mb auto (the lock-free cache in front of
      RocksDB that bids read first: 128 bytes per stored user, 64 MiB to 4 GiB; 0: none). See
      docs/audience.md.
      Hostile connections: --request-timeout-ms 1000 (a request must arrive whole within this of
      its first byte, else 408) --max-connections 10000 (per bid thread, lowered to fit the
      descriptor limit; at the cap the connection that has gone longest without completing a
      request is closed to make room for the new one). See docs/operations.md.
      Fleet mode (several bidders sharing budgets and frequency caps): --redis names the Redis;
      budgets are leased in slices of --fleet-slice 1.0 currency units, synced every
      --fleet-sync-ms 100, a lease lasts --fleet-lease-ttl-ms 3000 unless renewed; /readyz is
      503 without a fresh lease. See docs/fleet.md.
  bidder check-config [FILE]
      Validates a config file (or the embedded demo) exactly as serve would, without serving.
  bidder config export [--admin URL] [--token TOKEN] [--out FILE]
      Writes the running bidder's current campaign revision as a config file (docs/console.md).
  bidder audience push|list|show|forget|compact ...
      Manages audience segments on a running bidder (bidder audience help).
  bidder report [--dir DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--campaign ID]
                [--format table|csv|json]
      Sums the event log (<data-dir>/events) per campaign and day.
  bidder train --events DIR --out FILE [--target click|conversion] [--holdout-days N] ...
      Learns a model for the `learned` pricing model from the event log (bidder train --help).
  bidder version
      Prints the git commit the binary was built from.
  bidder help
Admin token: --admin-token-file FILE or $BIDDER_ADMIN_TOKEN (required when --admin-listen is
not a loopback address).
)";

// A bid port facing the internet holds thousands of connections, and the soft descriptor limit
// is often 1024: raise it to the hard limit the system allows this process. (The server then
// fits its connection cap under it, http::server_options::max_connections_per_thread.)
void use_all_descriptors() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int fail_usage(std::string_view message) {
  std::cerr << "bidder: " << message << "\n\n" << usage;
  return 2;
}

int serve(const std::vector<std::string_view>& args) {
  serve_options options;
  std::chrono::milliseconds drain_delay{0};
  if (const char* token = std::getenv("BIDDER_ADMIN_TOKEN")) options.admin_token = token;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 == args.size()) return fail_usage(std::string(flag) + " needs a value");
    const std::string value(args[++i]);
    if (flag == "--config") {
      options.config_path = value;
    } else if (flag == "--listen") {
      options.listen = value;
    } else if (flag == "--admin-listen") {
      options.admin_listen = value;
    } else if (flag == "--data-dir") {
      options.data_dir = value;
    } else if (flag == "--admin-token-file") {
      std::ifstream in(value);
      if (!in || !std::getline(in, options.admin_token) || options.admin_token.empty()) {
        return fail_usage("--admin-token-file " + value + ": cannot read a token from it");
      }
    } else if (flag == "--threads") {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), options.threads);
      if (ec != std::errc() || end != value.data() + value.size() || options.threads > 256) {
        return fail_usage("--threads takes a number from 0 to 256");
      }
    } else if (flag == "--shed-queued-ms") {
      double ms = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc() || end != value.data() + value.size() || !(ms >= 0 && ms <= 1000)) {
        return fail_usage("--shed-queued-ms takes milliseconds from 0 (never shed) to 1000");
      }
      options.shed_queued = std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000));
    } else if (flag == "--shed-busy") {
      unsigned percent = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), percent);
      if (ec != std::errc() || end != value.data() + value.size() || percent > 100 ||
          (percent > 0 && percent < 50)) {
        return fail_usage("--shed-busy takes 0 (never shed) or a percentage from 50 to 100");
      }
      options.shed_busy_share = percent / 100.0;
    } else if (flag == "--request-timeout-ms") {
      unsigned ms = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc() || end != value.data() + value.size() || ms < 10 || ms > 60'000) {
        return fail_usage("--request-timeout-ms takes milliseconds from 10 to 60000");
      }
      options.request_timeout = std::chrono::milliseconds(ms);
    } else if (flag == "--drain-delay-ms") {
      unsigned ms = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc() || end != value.data() + value.size() || ms > 600'000) {
        return fail_usage("--drain-delay-ms takes milliseconds from 0 to 600000");
      }
      drain_delay = std::chrono::milliseconds(ms);
    } else if (flag == "--max-connections") {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1'000'000) {
        return fail_usage(
            "--max-connections takes a number of connections per bid thread from 1 "
            "to 1000000");
      }
      options.max_connections_per_thread = n;
    } else if (flag == "--redis") {
      options.redis = std::string(value);
    } else if (flag == "--fleet-slice") {
      double units = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), units);
      if (ec != std::errc() || end != value.data() + value.size() || !(units > 0) || units > 1e9) {
        return fail_usage("--fleet-slice takes currency units above 0 (e.g. 1.5)");
      }
      options.fleet_slice_units = units;
    } else if (flag == "--fleet-sync-ms" || flag == "--fleet-lease-ttl-ms") {
      std::int64_t ms = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      const bool sync = flag == "--fleet-sync-ms";
      if (ec != std::errc() || end != value.data() + value.size() || ms < 10 || ms > 600'000) {
        return fail_usage(std::string(flag) + " takes milliseconds from 10 to 600000");
      }
      (sync ? options.fleet_sync : options.fleet_lease_ttl) = std::chrono::milliseconds(ms);
    } else if (flag == "--audience-user-cache-mb") {
      std::size_t megabytes = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), megabytes);
      if (value == "auto") {
        options.audience_user_cache_bytes = audience::user_cache_auto;
      } else if (ec != std::errc() || end != value.data() + value.size() ||
                 megabytes > (1u << 20)) {
        return fail_usage(std::string(flag) +
                          " takes auto, 0 (none) or a size in MiB up to 1048576");
      } else {
        options.audience_user_cache_bytes = megabytes << 20;
      }
    } else if (flag == "--audience-cache-mb" || flag == "--audience-row-cache-mb") {
      std::size_t megabytes = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), megabytes);
      const bool row = flag == "--audience-row-cache-mb";
      if (ec != std::errc() || end != value.data() + value.size() || megabytes > (1u << 20) ||
          (!row && megabytes < 8)) {
        return fail_usage(std::string(flag) +
                          (row ? " takes 0 (none) or a size in MiB up to 1048576"
                               : " takes a size in MiB from 8 to 1048576"));
      }
      (row ? options.audience_row_cache_bytes : options.audience_cache_bytes) = megabytes << 20;
    } else {
      return fail_usage("unknown option " + std::string(flag));
    }
  }

  if (options.redis.empty() && (options.fleet_sync != std::chrono::milliseconds(100) ||
                                options.fleet_lease_ttl != std::chrono::milliseconds(3'000) ||
                                options.fleet_slice_units != 1.0)) {
    return fail_usage("the --fleet-* options need --redis");
  }
  if (!options.redis.empty() && options.fleet_lease_ttl < 3 * options.fleet_sync) {
    return fail_usage("--fleet-lease-ttl-ms must be at least 3 times --fleet-sync-ms");
  }
  // Asio routes a signal to this signal_set whichever thread the kernel delivers it to.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);

  use_all_descriptors();
  auto svc = service::start(options, std::cerr);
  if (!svc) {
    std::cerr << "bidder: cannot start: " << svc.error().message << "\n";
    return svc.error().code == errc::invalid_config ? 2 : 1;
  }
  std::cerr << "bidder: ready (SIGHUP reloads, SIGTERM/SIGINT stop)" << std::endl;

  bool stopping = false;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        auto r = (*svc)->reload();
        std::cerr << "bidder: SIGHUP: "
                  << (r ? *r
                        : "reload refused, the previous campaigns keep serving: " +
                              r.error().message)
                  << std::endl;
        wait_signal();
        return;
      }
      stopping = true;
      (*svc)->begin_drain();  // /readyz says 503 before this line is printed
      std::cerr << "bidder: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT")
                << ": not ready, draining in-flight requests" << std::endl;
    });
  };
  wait_signal();
  while (!stopping && signals_io.run_one() > 0) {
  }
  if (drain_delay.count() > 0) {
    // Both ports keep serving while load balancers notice /readyz failing; the timer or a
    // second signal (an impatient operator, a supervisor's second SIGTERM) ends the wait.
    std::cerr << "bidder: serving " << drain_delay.count()
              << " ms more (--drain-delay-ms) before closing the ports" << std::endl;
    boost::asio::steady_timer timer(signals_io, drain_delay);
    timer.async_wait([&](const boost::system::error_code&) { signals.cancel(); });
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) timer.cancel();
    });
    signals_io.restart();
    signals_io.run();  // both handlers run: the first to complete cancels the other
  }
  (*svc)->stop(std::chrono::seconds(5));
  std::cerr << "bidder: stopped" << std::endl;
  return 0;
}

int check(const std::vector<std::string_view>& args) {
  if (args.size() > 1) return fail_usage("check-config takes one file");
  std::optional<std::string> path;
  if (!args.empty()) path = std::string(args[0]);
  auto r = check_config(path);
  if (!r) {
    std::cerr << "bidder: config refused: " << r.error().message << "\n";
    return 2;
  }
  std::cout << (path ? *path : std::string("embedded demo config")) << ": " << *r << "\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return fail_usage("no command given");
  const std::string_view command = args.front();
  args.erase(args.begin());
  if (command == "serve" || command == "audience" || command == "config") {
    // They serve or call the admin API over Asio's sockets.
    if (const std::string problem = http::io_backend_problem(); !problem.empty()) {
      std::cerr << "bidder: " << problem << "\n";
      return 1;
    }
  }
  if (command == "serve") return serve(args);
  if (command == "check-config") return check(args);
  if (command == "audience") return run_audience_cli(args);
  if (command == "config") return run_config_cli(args);
  if (command == "report") return reporting::run_report_cli(args);
  if (command == "train") return training::run_train_cli(args);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << usage;
    return 0;
  }
  if (command == "version" || command == "--version") {
    const std::string_view commit = build_commit();
    std::cout << "bidder, commit " << (commit.empty() ? "unknown" : commit)
              << (build_dirty() ? " with local changes" : "") << "\n";
    return 0;
  }
  return fail_usage("unknown command " + std::string(command));
}

}  // namespace bidder::app
