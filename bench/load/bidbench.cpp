#include "bench/load/bidbench.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <limits>

#include "bench/load/audience_fill.hpp"
#include "bench/load/check.hpp"
#include "bench/load/floor_server.hpp"
#include "bench/load/load_runner.hpp"
#include "bench/load/report.hpp"
#include "bench/load/request_pool.hpp"
#include "bench/load/units.hpp"
#include "bidder/core/deadline.hpp"

namespace bidder::bench {
namespace {

namespace json = boost::json;
using std::chrono::nanoseconds;

constexpr std::string_view usage_text = R"(usage: bidbench [flags]

Load:
  --target URL          bidder endpoint (default http://127.0.0.1:8080/bid); numeric IP only
  --label NAME          name of the target in reports (default "target")
  --rate N|max          open loop at N requests/s (20000, 50k, 20000/s), or closed loop as
                        fast as answers come (max; default)
  --duration D          measured time per run (default 10s; units ns us ms s m)
  --warmup D            traffic sent before measuring, not recorded (default 1s)
  --connections N       keep-alive connections (default 64)
  --timeout D           no answer within D of the send is a timeout (default 1s)
  --ramp FROM:TO:STEP   runs at FROM, FROM+STEP, ... up to TO requests/s, each for --duration,
                        until p99 exceeds --slo-p99 or errors appear (connection errors,
                        timeouts, 5xx, 4xx beyond the replayed files named *DEVIATION*);
                        reports the highest rate that held ("max throughput under SLO")
  --slo-p99 D           the ramp's latency bound (default 5ms)
  --floor               first run the same load against a built-in bare-HTTP server that
                        answers 204 (the floor), then against --target if one was given
  --floor-cpu N         pin the built-in floor server's thread to CPU N (--floor, --serve-floor)
  --cpu N               pin bidbench's load thread to CPU N
  --server-pid PID      the target's process id (same machine): reports its CPU use and CPU
                        time per request (exact, from /proc/PID/task/*/schedstat)

Workload (requests are cycled round-robin):
  --generate            generated OpenRTB traffic (default when --requests is absent)
  --requests DIR        replay every *.json file of DIR (with --generate too: both)
  --seed N              generator seed (default 1); equal seeds give identical traffic
  --audience-hit F      share of requests whose user.id is in the audience (default 0.3)
  --users N             audience size (default 1M)
  --campaigns N         campaigns in --write-config (default 1000)
  --pool N              distinct generated requests (default 10000)
  --tmax MS             tmax of generated requests (default 100); for replayed ones without a
                        tmax, the deadline misses are counted against (their bodies are sent
                        unchanged)

Data set (written, then bidbench exits unless a load flag is also given):
  --write-config FILE   a campaign config matching the traffic (for bidder serve --config)
  --write-audience DIR  the audience as one file per segment: "user:<id>\t<last seen>" lines
  --fill-store DIR      the audience written into DIR/audience (bidder serve --data-dir DIR)

Reports:
  --json FILE           machine, build, config and every figure (for bench/compare)
  --html FILE           self-contained HTML with the latency-percentile and ramp charts
  --check SPEC          e.g. 'p99<5ms,miss=0,rps>=40k'; exit 3 when a bound fails. Metrics:
                        p50 p90 p99 p99.9 p99.99 max mean | sent bids nobids 4xx 5xx other
                        errors timeouts miss late unsent | rps slo_rps full_rps |
                        bid_share nobid_share error_share miss_share (full_rps: the
                        highest ramp step that held with the 204 share within a point of
                        the first step's, i.e. without shedding)

Other:
  --serve-floor HOST:PORT   serve the bare-HTTP floor until SIGINT/SIGTERM (or --duration)
  --help

Latency is measured from each request's scheduled send time: a request waiting for a free
connection while the server is slow keeps its clock running (coordinated omission).
)";

std::string iso_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

error bad_flag(std::string_view flag, std::string_view what) {
  return make_error(errc::invalid_field, std::string(flag) + ": " + std::string(what));
}

// A whole number, plain ("20000": exact, as --seed needs) or scaled ("50k", "10M"); false when
// it is not one or does not fit Int.
template <class Int>
bool parse_int(std::string_view text, Int& out) {
  Int plain{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), plain);
  if (end == text.data() + text.size() && !text.empty()) {
    if (ec != std::errc()) return false;  // out of range
    out = plain;
    return true;
  }
  std::optional<double> v = parse_scaled(text);
  // 2^63 and 2^64 are exact in a double; a cast of anything beyond Int's range is undefined.
  if (!v || !(*v >= static_cast<double>(std::numeric_limits<Int>::min())) ||
      !(*v < static_cast<double>(std::numeric_limits<Int>::max()) + 1.0) ||
      *v != static_cast<double>(static_cast<Int>(*v))) {
    return false;
  }
  out = static_cast<Int>(*v);
  return true;
}

result<std::uint64_t> parse_rate(std::string_view flag, std::string_view text) {
  if (text.ends_with("/s")) text.remove_suffix(2);
  std::uint64_t rate = 0;
  if (!parse_int(text, rate) || rate == 0 || rate > max_rate) {
    return bad_flag(flag, "expected a number of requests per second from 1 to " +
                              format_count(max_rate) + " (e.g. 20000, 50k)");
  }
  return rate;
}

}  // namespace

std::string_view bidbench_usage() noexcept { return usage_text; }

result<bidbench_options> parse_bidbench_args(const std::vector<std::string>& args) {
  bidbench_options o;
  bool requests_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (const std::size_t eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      inline_value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    // Flags without a value.
    if (flag == "--help" || flag == "-h") {
      o.help = true;
      continue;
    }
    if (flag == "--floor" || flag == "--generate") {
      if (inline_value) return bad_flag(flag, "takes no value");
      (flag == "--floor" ? o.floor : o.generate) = true;
      continue;
    }
    if (!flag.starts_with("--")) {
      return make_error(errc::invalid_field, "unexpected argument '" + flag + "'");
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 == args.size()) return bad_flag(flag, "needs a value");
      value = args[++i];
    }
    auto duration = [&](nanoseconds& out, bool allow_zero) -> result<void> {
      const auto d = parse_duration(value);
      if (!d || (!allow_zero && d->count() == 0)) {
        return bad_flag(flag, "expected a duration such as 10s, 500ms or 2m, got '" + value + "'");
      }
      // Time points are steady_clock's int64 nanoseconds: sums of a few such flags must not wrap.
      if (*d > std::chrono::hours(24 * 7)) return bad_flag(flag, "at most 7 days");
      out = *d;
      return {};
    };
    auto cpu = [&](std::optional<unsigned>& out) -> result<void> {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n >= 1024) {
        return bad_flag(flag, "expected a CPU number (0, 1, ...)");
      }
      out = n;
      return {};
    };
    if (flag == "--target") {
      if (auto t = parse_target(value); !t) return bad_flag(flag, t.error().message);
      o.target = value;
      o.target_given = true;
    } else if (flag == "--label") {
      if (value.empty()) return bad_flag(flag, "must not be empty");
      o.label = value;
    } else if (flag == "--rate") {
      o.rate_given = true;
      if (value == "max") {
        o.rate = 0;
      } else {
        auto r = parse_rate(flag, value);
        if (!r) {
          return bad_flag(flag,
                          "expected a number of requests per second (e.g. 20000, 50k) or "
                          "max, got '" +
                              value + "'");
        }
        o.rate = *r;
      }
    } else if (flag == "--duration") {
      if (auto r = duration(o.duration, false); !r) return r.error();
      o.duration_given = true;
    } else if (flag == "--warmup") {
      if (auto r = duration(o.warmup, true); !r) return r.error();
    } else if (flag == "--timeout") {
      if (auto r = duration(o.timeout, false); !r) return r.error();
    } else if (flag == "--connections") {
      if (!parse_int(value, o.connections) || o.connections == 0 ||
          o.connections > max_connections) {
        return bad_flag(flag, "expected 1 to " + std::to_string(max_connections));
      }
    } else if (flag == "--requests") {
      o.requests_dir = value;
      requests_given = true;
    } else if (flag == "--seed") {
      if (!parse_int(value, o.traffic.seed)) return bad_flag(flag, "expected a whole number");
    } else if (flag == "--audience-hit") {
      const auto v = parse_scaled(value);
      if (!v || *v > 1) return bad_flag(flag, "expected a share from 0 to 1, e.g. 0.3");
      o.traffic.audience_hit = *v;
    } else if (flag == "--users") {
      if (!parse_int(value, o.traffic.users)) {
        return bad_flag(flag, "expected a number of users (e.g. 1000000, 10M)");
      }
    } else if (flag == "--campaigns") {
      if (!parse_int(value, o.traffic.campaigns) || o.traffic.campaigns == 0 ||
          o.traffic.campaigns > 1'000'000) {
        return bad_flag(flag, "expected 1 to 1,000,000");
      }
    } else if (flag == "--pool") {
      if (!parse_int(value, o.pool) || o.pool == 0 || o.pool > 10'000'000) {
        return bad_flag(flag, "expected 1 to 10,000,000");
      }
    } else if (flag == "--tmax") {
      std::int64_t ms = 0;
      if (!parse_int(value, ms) || ms <= 0 || ms > 60'000) {
        return bad_flag(flag, "expected milliseconds from 1 to 60000");
      }
      o.traffic.tmax = std::chrono::milliseconds(ms);
    } else if (flag == "--ramp") {
      const std::size_t a = value.find(':');
      const std::size_t b = a == std::string::npos ? a : value.find(':', a + 1);
      if (b == std::string::npos) {
        return bad_flag(flag, "expected FROM:TO:STEP in requests/s, e.g. 10k:100k:10k");
      }
      auto from = parse_rate(flag, std::string_view(value).substr(0, a));
      auto to = parse_rate(flag, std::string_view(value).substr(a + 1, b - a - 1));
      auto step = parse_rate(flag, std::string_view(value).substr(b + 1));
      if (!from || !to || !step) {
        return bad_flag(flag, "expected FROM:TO:STEP in requests/s, e.g. 10k:100k:10k");
      }
      if (*to < *from) return bad_flag(flag, "TO must not be below FROM");
      if ((*to - *from) / *step > 200)
        return bad_flag(flag, "more than 200 steps; use a larger STEP");
      o.ramp = ramp_spec{*from, *to, *step};
    } else if (flag == "--slo-p99") {
      if (auto r = duration(o.slo_p99, false); !r) return r.error();
    } else if (flag == "--json") {
      o.json_path = value;
    } else if (flag == "--html") {
      o.html_path = value;
    } else if (flag == "--check") {
      if (auto c = parse_checks(value); !c) return c.error();
      o.check_spec = value;
    } else if (flag == "--floor-cpu") {
      if (auto r = cpu(o.floor_cpu); !r) return r.error();
    } else if (flag == "--cpu") {
      if (auto r = cpu(o.cpu); !r) return r.error();
    } else if (flag == "--server-pid") {
      if (!parse_int(value, o.server_pid) || o.server_pid <= 0) {
        return bad_flag(flag, "expected a process id");
      }
    } else if (flag == "--serve-floor") {
      o.serve_floor = value;
    } else if (flag == "--write-config") {
      o.write_config = value;
    } else if (flag == "--write-audience") {
      o.write_audience = value;
    } else if (flag == "--fill-store") {
      o.fill_store = value;
    } else {
      return make_error(errc::invalid_field, "unknown flag " + flag);
    }
  }
  if (!requests_given) o.generate = true;
  if (o.ramp && o.rate_given) {
    return make_error(errc::invalid_field, "--ramp and --rate exclude each other");
  }
  return o;
}

namespace {

// The target runs of one invocation: the floor (optional) and the bidder.
struct target_run {
  std::string label;
  http_target target;
  int server_pid = 0;       // 0: unknown
  bool in_process = false;  // the built-in floor: its CPU is part of bidbench's own
};

json::object config_json(const bidbench_options& o, const std::vector<target_run>& targets) {
  json::object c;
  json::array t;
  for (const auto& run : targets) {
    json::object one;
    one["label"] = run.label;
    one["url"] = run.target.url;
    if (run.server_pid > 0) {
      // Which binary was measured: when builds are compared by alternating copies of them,
      // the commit of bidbench itself does not tell.
      one["server_pid"] = run.server_pid;
      std::error_code ec;
      const auto exe =
          std::filesystem::read_symlink("/proc/" + std::to_string(run.server_pid) + "/exe", ec);
      if (!ec) one["server_executable"] = exe.string();
    }
    t.push_back(std::move(one));
  }
  c["targets"] = std::move(t);
  c["rate"] = o.ramp ? json::value("ramp") : o.rate == 0 ? json::value("max") : json::value(o.rate);
  if (o.ramp) {
    c["ramp"] = json::object{{"from", o.ramp->from}, {"to", o.ramp->to}, {"step", o.ramp->step}};
    c["slo_p99_ns"] = o.slo_p99.count();
  }
  c["duration_s"] = std::chrono::duration<double>(o.duration).count();
  c["warmup_s"] = std::chrono::duration<double>(o.warmup).count();
  c["timeout_s"] = std::chrono::duration<double>(o.timeout).count();
  c["connections"] = o.connections;
  json::object w;
  w["generate"] = o.generate;
  if (o.requests_dir) w["requests_dir"] = *o.requests_dir;
  if (o.generate) {
    w["seed"] = o.traffic.seed;
    w["audience_hit"] = o.traffic.audience_hit;
    w["users"] = o.traffic.users;
    w["pool"] = o.pool;
  }
  w["tmax_ms"] = o.traffic.tmax.count();
  c["workload"] = std::move(w);
  if (o.cpu) c["bidbench_cpu"] = *o.cpu;
  if (o.floor_cpu) c["floor_cpu"] = *o.floor_cpu;
  if (o.check_spec) c["check"] = *o.check_spec;
  return c;
}

int serve_floor(const bidbench_options& o, std::ostream& out, std::ostream& err) {
  const std::string& address = *o.serve_floor;
  const std::size_t colon = address.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      std::from_chars(address.data() + colon + 1, address.data() + address.size(), port).ec !=
          std::errc() ||
      port > 65535) {
    err << "bidbench: --serve-floor: expected HOST:PORT, e.g. 127.0.0.1:9090\n";
    return 2;
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto server = floor_server::start(
      {.host = host, .port = static_cast<std::uint16_t>(port), .cpu = o.floor_cpu});
  if (!server) {
    err << "bidbench: " << server.error().message << "\n";
    return 1;
  }
  out << "bidbench: floor serving http://" << address.substr(0, colon) << ":" << (*server)->port()
      << "/ (204 to every request; SIGINT/SIGTERM stop)" << std::endl;
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  boost::asio::steady_timer timer(io);
  if (o.duration_given) {
    timer.expires_after(o.duration);
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
  }
  io.run();
  (*server)->stop();
  out << "bidbench: floor stopped after " << format_count((*server)->requests()) << " requests"
      << std::endl;
  return 0;
}

result<load_result> run_once(const bidbench_options& o, const http_target& target,
                             const request_pool& pool, std::uint64_t rate, int server_pid) {
  load_options lo;
  lo.target = target;
  lo.rate = rate;
  lo.duration = o.duration;
  lo.warmup = o.warmup;
  lo.connections = o.connections;
  lo.timeout = o.timeout;
  lo.server_pid = server_pid;
  return run_load(lo, pool);
}

void announce(std::ostream& err, const std::string& label, const bidbench_options& o,
              std::uint64_t rate) {
  err << "bidbench: " << label << ": "
      << (rate == 0 ? std::string("closed loop") : format_rate(static_cast<double>(rate)))
      << " for " << format_duration(o.duration) << " on " << o.connections << " connections"
      << (o.warmup.count() > 0 ? " (after " + format_duration(o.warmup) + " warm-up)" : "")
      << std::endl;
}

}  // namespace

int run_bidbench(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse_bidbench_args(args);
  if (!parsed) {
    err << "bidbench: " << parsed.error().message << "\n(bidbench --help lists the flags)\n";
    return 2;
  }
  const bidbench_options& o = *parsed;
  if (o.help) {
    out << usage_text;
    return 0;
  }
  if (o.serve_floor) return serve_floor(o, out, err);

  // Data set.
  traffic_generator generator(o.traffic);
  const std::int64_t now = wall_now();
  if (o.write_config) {
    if (auto r = generator.write_config(*o.write_config); !r) {
      err << "bidbench: --write-config: " << r.error().message << "\n";
      return 1;
    }
    err << "bidbench: wrote " << o.traffic.campaigns << " campaigns to " << *o.write_config
        << std::endl;
  }
  if (o.write_audience) {
    auto lines = generator.write_audience(*o.write_audience, now);
    if (!lines) {
      err << "bidbench: --write-audience: " << lines.error().message << "\n";
      return 1;
    }
    err << "bidbench: wrote " << format_count(o.traffic.users) << " users (" << format_count(*lines)
        << " memberships) to " << *o.write_audience << "/*.txt" << std::endl;
  }
  if (o.fill_store) {
    auto users = fill_audience_store(generator, *o.fill_store, now, &err);
    if (!users) {
      err << "bidbench: --fill-store: " << users.error().message << "\n";
      return 1;
    }
    err << "bidbench: wrote " << format_count(*users) << " users into " << *o.fill_store
        << "/audience" << std::endl;
  }
  const bool load_wanted = o.target_given || o.floor || o.rate_given || o.ramp.has_value();
  const bool data_written = o.write_config || o.write_audience || o.fill_store;
  if (data_written && !load_wanted) return 0;

  // Workload.
  std::vector<request_body> bodies;
  if (o.generate) bodies = generate_requests(generator, o.pool);
  if (o.requests_dir) {
    auto replay = load_request_dir(*o.requests_dir, o.traffic.tmax);
    if (!replay) {
      err << "bidbench: " << replay.error().message << "\n";
      return 1;
    }
    // Interleave so that a short run still sees both kinds.
    std::vector<request_body> mixed;
    std::size_t g = 0;
    std::size_t r = 0;
    while (g < bodies.size() || r < replay->size()) {
      if (r < replay->size()) mixed.push_back(std::move((*replay)[r++]));
      if (g < bodies.size()) mixed.push_back(std::move(bodies[g++]));
    }
    bodies = std::move(mixed);
  }

  // Targets.
  std::unique_ptr<floor_server> floor;
  std::vector<target_run> targets;
  if (o.floor) {
    auto started = floor_server::start({.host = "127.0.0.1", .port = 0, .cpu = o.floor_cpu});
    if (!started) {
      err << "bidbench: " << started.error().message << "\n";
      return 1;
    }
    floor = std::move(*started);
    auto t = parse_target("http://127.0.0.1:" + std::to_string(floor->port()) + "/bid");
    targets.push_back({"floor", *t, 0, true});
  }
  if (!o.floor || o.target_given)
    targets.push_back({o.label, *parse_target(o.target), o.server_pid});

  if (o.cpu) {
    if (auto r = pin_current_thread(*o.cpu); !r) {
      err << "bidbench: --cpu: " << r.error().message << "\n";
      return 1;
    }
  }

  bench_report report;
  report.started_at = iso_now();
  report.machine = describe_machine();
  report.build = describe_build();
  report.config = config_json(o, targets);
  if (report.build.build_type != "Release") {
    report.notes.push_back("bidbench is a " + report.build.build_type +
                           " build: figures are only meaningful from Release builds");
  }
  if (o.cpu) report.notes.push_back("bidbench load thread pinned to CPU " + std::to_string(*o.cpu));
  if (floor && o.floor_cpu) {
    report.notes.push_back("built-in floor server pinned to CPU " + std::to_string(*o.floor_cpu));
  }

  for (const target_run& t : targets) {
    const request_pool pool = prepare_requests(t.target, bodies);
    // A ramp step holds with no 4xx, except for the requests the pool is meant to have refused:
    // replayed files named *DEVIATION* (the corpus's mark for requests that break the spec on
    // purpose), plus a point. Judged at every step, the first too: a wrong path or a bidder
    // refusing everything does not hold.
    const auto meant_refused =
        static_cast<double>(std::count_if(bodies.begin(), bodies.end(), [](const request_body& b) {
          return b.name.find("DEVIATION") != std::string::npos;
        }));
    const double client_errors_allowed =
        meant_refused == 0 ? 0.0 : meant_refused / static_cast<double>(bodies.size()) + 0.01;
    if (o.ramp) {
      ramp_report ramp;
      ramp.label = t.label;
      ramp.slo_p99 = o.slo_p99;
      err << "bidbench: " << t.label << ": ramp " << format_rate(static_cast<double>(o.ramp->from))
          << " to " << format_rate(static_cast<double>(o.ramp->to)) << ", "
          << format_duration(o.duration) << " per step, SLO p99 <= " << format_duration(o.slo_p99)
          << std::endl;
      for (std::uint64_t rate = o.ramp->from; rate <= o.ramp->to; rate += o.ramp->step) {
        auto r = run_once(o, t.target, pool, rate, t.server_pid);
        if (!r) {
          err << "bidbench: " << t.label << ": " << r.error().message << "\n";
          return 1;
        }
        ramp_step step{rate, std::move(*r), false, {}};
        judge_step(step, o.slo_p99, client_errors_allowed);
        print_ramp_step(err, step);
        const bool held = step.held;
        ramp.steps.push_back(std::move(step));
        if (!held) break;
        ramp.best = ramp.steps.size() - 1;
      }
      report.ramps.push_back(std::move(ramp));
    } else {
      announce(err, t.label, o, o.rate);
      auto r = run_once(o, t.target, pool, o.rate, t.server_pid);
      if (!r) {
        err << "bidbench: " << t.label << ": " << r.error().message << "\n";
        return 1;
      }
      report.runs.push_back({t.label, std::move(*r), t.in_process});
    }
  }
  if (floor) floor->stop();

  if (o.check_spec) {
    report.checks = evaluate_checks(*parse_checks(*o.check_spec), report_metrics(report));
  }
  out << '\n';
  print_report(out, report);
  out.flush();
  if (o.json_path) {
    if (auto r = write_json_report(*o.json_path, report); !r) {
      err << "bidbench: --json: " << r.error().message << "\n";
      return 1;
    }
  }
  if (o.html_path) {
    if (auto r = write_html_report(*o.html_path, report); !r) {
      err << "bidbench: --html: " << r.error().message << "\n";
      return 1;
    }
  }
  for (const auto& c : report.checks) {
    if (!c.known || !c.passed) return 3;
  }
  return 0;
}

}  // namespace bidder::bench
