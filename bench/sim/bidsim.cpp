// File: bench/sim/bidsim.cpp
#include "bench/sim/bidsim.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "bench/load/units.hpp"
#include "bench/sim/bidder_report.hpp"
#include "bench/sim/bidders.hpp"
#include "bench/sim/http_client.hpp"
#include "bench/sim/market.hpp"
#include "bench/sim/model_eval.hpp"
#include "bench/sim/scenario_files.hpp"
#include "bench/sim/scenario_json.hpp"
#include "bench/sim/sim_report.hpp"
#include "bench/sim/simulator.hpp"

namespace bidder::sim {
namespace {

constexpr const char* usage = R"(usage: bidsim [flags]

The market simulator (docs/bidsim.md): seeded synthetic users with hidden click and conversion
propensities, exchanges with first- and second-price auctions and lognormal competitors, and the
bidder under test, the oracle and a fixed-price baseline bidding on the same market.

Scenario:
  --scenario FILE          read the scenario from a JSON file (the flags below override it)
  --write-scenario FILE    write the scenario as JSON (the default one, or as read and overridden)
  --seed N                 seed of every random draw (1)
  --users N                population size (20000)
  --days N                 simulated days (7)
  --start-day N            simulate days N .. N+days-1 of the same market (0): hold-out days
  --requests-per-day N     bid requests per simulated day (50000; "k" and "M" suffixes work)
  --tmax MS                the requests' tmax (100)
  --fixed-cpm X            the fixed-price baseline's bid (1.5)
  --oracle-fraction X      the oracle bids as if values were this share of the truth (1): the
                           most a budget can buy when impressions are ranked by true worth

Setting up the bidder:
  --write-config FILE      write the scenario's bidder config (bidder serve --config FILE)
  --notice-base-url URL    its notice_base_url (http://127.0.0.1:8080)
  --write-audiences DIR    write DIR/<segment>.txt for `bidder audience push`
  --push-audiences         push the audiences through the admin API (PUT /admin/audiences/...)

Running:
  --target URL             the bidder's bid URL; bidsim posts to URL/<exchange id>
                           (e.g. http://127.0.0.1:8080/bid; loopback only)
  --admin URL              the bidder's admin port (http://127.0.0.1:8081; loopback only)
  --admin-token T          bearer token for the admin API; --admin-token-file FILE reads it
  --bidders LIST           which bidders run, in order: bidder,oracle,fixed (bidder only with
                           --target; default: all that can run)
  --timeout DUR            a bid request unanswered this long is a timeout (1s)
  --max-requests N         stop each run after N requests (0: days * requests per day)
  --duration DUR           wall-clock bound on each run (10m); a run cut short says so

Experiments: the scenario's "experiments" go into the bidder config; after the bidder's run
bidsim reads the bidder's own report per arm (GET /admin/report?group_by=arm) into its reports.

Learning (docs/learning.md):
  --evaluate-model FILE    score a click model from `bidder train` on this market against the
                           oracle (log-loss, AUC, calibration), instead of running bidders;
                           use a seed or days the model was not trained on

Reports:
  --json FILE              the figures as JSON
  --html FILE              a self-contained HTML report with SVG charts
  --quiet                  no table on stdout
)";

struct options {
  scenario s = default_scenario();
  std::optional<std::string> write_scenario;
  double fixed_cpm = 1.5;
  double oracle_fraction = 1;
  std::optional<std::string> write_config;
  std::string notice_base_url = "http://127.0.0.1:8080";
  std::optional<std::string> write_audiences;
  bool push_audiences = false;
  std::optional<std::string> target;
  std::string admin = "http://127.0.0.1:8081";
  std::string admin_token;
  std::vector<std::string> bidders;
  bool bidders_given = false;
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);
  std::uint64_t max_requests = 0;
  std::chrono::nanoseconds duration = std::chrono::minutes(10);
  std::optional<std::string> json_path;
  std::optional<std::string> html_path;
  bool quiet = false;
  bool help = false;
  std::optional<std::string> evaluate_model;
};

bool parse_count(const std::string& text, std::uint64_t& out) {
  const auto v = bidder::bench::parse_scaled(text);
  if (!v || *v != std::floor(*v) || *v > 1e12) return false;
  out = static_cast<std::uint64_t>(*v);
  return true;
}

// Parses the flags; returns an error message, or nullopt.
std::optional<std::string> parse(const std::vector<std::string>& args, options& o) {
  // The scenario file first, so that every other flag overrides it wherever it stands.
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--scenario") continue;
    if (i + 1 >= args.size()) return "--scenario: a file";
    const std::string& path = args[i + 1];
    std::ifstream in(path, std::ios::binary);
    if (!in) return "--scenario: cannot read " + path;
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto loaded = scenario_from_json(text.str(), error);
    if (!loaded) return "--scenario " + path + ": " + error;
    o.s = std::move(*loaded);
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto count = [&](std::uint64_t& out, std::uint64_t lo, std::uint64_t hi) {
      const auto v = value();
      std::uint64_t n = 0;
      if (!v || !parse_count(*v, n) || n < lo || n > hi) return false;
      out = n;
      return true;
    };
    std::uint64_t n = 0;
    if (flag == "--help" || flag == "-h") {
      o.help = true;
    } else if (flag == "--scenario") {
      ++i;  // read first, below
    } else if (flag == "--write-scenario") {
      o.write_scenario = value();
      if (!o.write_scenario) return "--write-scenario: a file";
    } else if (flag == "--seed") {
      if (!count(o.s.seed, 0, ~std::uint64_t{0} >> 1)) return "--seed: a number";
    } else if (flag == "--users") {
      if (!count(n, 1, 10'000'000)) return "--users: 1 to 10M";
      o.s.users = static_cast<std::uint32_t>(n);
    } else if (flag == "--days") {
      if (!count(n, 1, 365)) return "--days: 1 to 365";
      o.s.days = static_cast<std::uint32_t>(n);
    } else if (flag == "--start-day") {
      if (!count(n, 0, max_simulated_days - 1)) return "--start-day: 0 to 3649";
      o.s.start_day = static_cast<std::uint32_t>(n);
    } else if (flag == "--requests-per-day") {
      if (!count(n, 1, 100'000'000)) return "--requests-per-day: 1 to 100M";
      o.s.requests_per_day = static_cast<std::uint32_t>(n);
    } else if (flag == "--tmax") {
      if (!count(n, 1, 10'000)) return "--tmax: 1 to 10000 ms";
      o.s.tmax_ms = static_cast<std::uint32_t>(n);
    } else if (flag == "--fixed-cpm") {
      const auto v = value();
      const auto x = v ? bidder::bench::parse_scaled(*v) : std::nullopt;
      if (!x || !(*x > 0) || *x > 1000) return "--fixed-cpm: a CPM above 0";
      o.fixed_cpm = *x;
    } else if (flag == "--oracle-fraction") {
      const auto v = value();
      const auto x = v ? bidder::bench::parse_scaled(*v) : std::nullopt;
      if (!x || !(*x > 0) || *x > 1) return "--oracle-fraction: a share in (0, 1]";
      o.oracle_fraction = *x;
    } else if (flag == "--write-config") {
      o.write_config = value();
      if (!o.write_config) return "--write-config: a file";
    } else if (flag == "--notice-base-url") {
      const auto v = value();
      if (!v) return "--notice-base-url: a URL";
      o.notice_base_url = *v;
    } else if (flag == "--write-audiences") {
      o.write_audiences = value();
      if (!o.write_audiences) return "--write-audiences: a directory";
    } else if (flag == "--push-audiences") {
      o.push_audiences = true;
    } else if (flag == "--target") {
      o.target = value();
      if (!o.target) return "--target: a URL";
    } else if (flag == "--admin") {
      const auto v = value();
      if (!v) return "--admin: a URL";
      o.admin = *v;
    } else if (flag == "--admin-token") {
      const auto v = value();
      if (!v) return "--admin-token: a token";
      o.admin_token = *v;
    } else if (flag == "--admin-token-file") {
      const auto v = value();
      if (!v) return "--admin-token-file: a file";
      std::ifstream in(*v);
      if (!in) return "--admin-token-file: cannot read " + *v;
      std::getline(in, o.admin_token);
      while (!o.admin_token.empty() &&
             (o.admin_token.back() == '\r' || o.admin_token.back() == ' ')) {
        o.admin_token.pop_back();
      }
    } else if (flag == "--bidders") {
      const auto v = value();
      if (!v) return "--bidders: a list";
      o.bidders.clear();
      o.bidders_given = true;
      std::stringstream list(*v);
      for (std::string item; std::getline(list, item, ',');) {
        if (item != "bidder" && item != "oracle" && item != "fixed") {
          return "--bidders: bidder, oracle or fixed, not \"" + item + "\"";
        }
        o.bidders.push_back(item);
      }
      if (o.bidders.empty()) return "--bidders: at least one";
    } else if (flag == "--timeout" || flag == "--duration") {
      const auto v = value();
      const auto d = v ? bidder::bench::parse_duration(*v) : std::nullopt;
      if (!d || d->count() <= 0) return flag + ": a duration such as 500ms or 2m";
      (flag == "--timeout" ? o.timeout : o.duration) = *d;
    } else if (flag == "--max-requests") {
      if (!count(o.max_requests, 0, ~std::uint64_t{0} >> 1)) return "--max-requests: a count";
    } else if (flag == "--json") {
      o.json_path = value();
      if (!o.json_path) return "--json: a file";
    } else if (flag == "--html") {
      o.html_path = value();
      if (!o.html_path) return "--html: a file";
    } else if (flag == "--quiet") {
      o.quiet = true;
    } else if (flag == "--evaluate-model") {
      o.evaluate_model = value();
      if (!o.evaluate_model) return "--evaluate-model: a model file";
    } else {
      return "unknown flag " + flag + " (see --help)";
    }
  }
  if (!o.bidders_given) {
    if (o.target) o.bidders.push_back("bidder");
    o.bidders.push_back("oracle");
    o.bidders.push_back("fixed");
  }
  for (const std::string& b : o.bidders) {
    if (b == "bidder" && !o.target) return "--bidders: \"bidder\" needs --target";
  }
  if (const auto problem = validate(o.s)) return "scenario: " + *problem;
  return std::nullopt;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// PUT /admin/audiences/{segment}?mode=replace for each file.
bool push(const options& o, const std::vector<audience_file>& files, std::ostream& out,
          std::ostream& err) {
  url_parts admin;
  std::string error;
  if (!parse_loopback_url(o.admin, admin, error)) {
    err << "bidsim: --admin: " << error << "\n";
    return false;
  }
  // A push is sorted and applied on the bidder before it answers: allow it time.
  http_client client(admin.host, admin.port, std::chrono::milliseconds(60'000));
  for (const audience_file& f : files) {
    const http_outcome r = client.send("PUT", "/admin/audiences/" + f.segment + "?mode=replace",
                                       f.text, "text/plain", o.admin_token);
    if (r.failure != http_failure::none || r.status != 200) {
      err << "bidsim: push of " << f.segment << " failed: "
          << (r.failure != http_failure::none ? failure_name(r.failure)
                                              : "HTTP " + std::to_string(r.status))
          << " " << r.body << "\n";
      return false;
    }
    out << "pushed " << f.segment << ": " << f.members << " members\n";
  }
  return true;
}

}  // namespace

int run_bidsim(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  options o;
  if (const auto problem = parse(args, o)) {
    err << "bidsim: " << *problem << "\n";
    return 2;
  }
  if (o.help) {
    out << usage;
    return 0;
  }
  const population users = make_population(o.s);
  std::string error;
  if (o.write_scenario) {
    if (!write_text_file(*o.write_scenario, scenario_to_json(o.s), error)) {
      err << "bidsim: " << error << "\n";
      return 1;
    }
    out << "wrote the scenario " << *o.write_scenario << "\n";
  }
  if (o.write_config) {
    if (!write_text_file(*o.write_config, config_json(o.s, o.notice_base_url), error)) {
      err << "bidsim: " << error << "\n";
      return 1;
    }
    out << "wrote the bidder config " << *o.write_config << "\n";
  }
  if (o.write_audiences || o.push_audiences) {
    const auto files = audience_files(users, unix_now());
    if (o.write_audiences) {
      std::error_code ec;
      std::filesystem::create_directories(*o.write_audiences, ec);
      for (const audience_file& f : files) {
        const std::string path =
            (std::filesystem::path(*o.write_audiences) / (f.segment + ".txt")).string();
        if (!write_text_file(path, f.text, error)) {
          err << "bidsim: " << error << "\n";
          return 1;
        }
        out << "wrote " << path << " (" << f.members << " members)\n";
      }
    }
    if (o.push_audiences && !push(o, files, out, err)) return 1;
  }
  if (o.evaluate_model) {
    auto model = learning::read_model_file(*o.evaluate_model);
    if (!model) {
      err << "bidsim: " << model.error().message << "\n";
      return 1;
    }
    if (model->target != learning::model_target::click) {
      err << "bidsim: " << *o.evaluate_model << " is not a click model\n";
      return 2;
    }
    const model_evaluation e = evaluate_click_model(
        o.s, users, *model, {.max_requests = o.max_requests, .now = unix_now()});
    if (!o.quiet) out << evaluation_text(e);
    if (o.json_path) {
      const std::string json = "{\"requests\":" + std::to_string(e.requests) +
                               ",\"pairs\":" + std::to_string(e.pairs) +
                               ",\"model\":" + training::to_json(e.model) +
                               ",\"oracle\":" + training::to_json(e.oracle) +
                               ",\"observable_oracle\":" + training::to_json(e.observable) + "}\n";
      if (!write_text_file(*o.json_path, json, error)) {
        err << "bidsim: " << error << "\n";
        return 1;
      }
    }
    return 0;
  }
  const bool only_setup =
      (o.write_scenario || o.write_config || o.write_audiences || o.push_audiences) && !o.target &&
      !o.bidders_given;
  if (only_setup) return 0;

  std::vector<run_result> runs;
  // The bidder's own report per arm, read after its run (bidder_report.hpp).
  std::optional<boost::json::value> arm_report;
  std::string arm_report_problem;
  simulate_options so;
  so.max_requests = o.max_requests;
  so.max_duration = o.duration;
  for (const std::string& name : o.bidders) {
    std::unique_ptr<sim_bidder> b;
    if (name == "bidder") {
      http_bidder_options ho;
      ho.bid_url = *o.target;
      ho.admin_url = o.admin;
      ho.admin_token = o.admin_token;
      ho.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
      b = http_bidder::make(o.s, ho, error);
      if (!b) {
        err << "bidsim: " << error << "\n";
        return 2;
      }
    } else if (name == "oracle") {
      b = std::make_unique<oracle_bidder>(o.s, users, o.oracle_fraction);
    } else {
      b = std::make_unique<fixed_bidder>(o.s, users, o.fixed_cpm);
    }
    runs.push_back(simulate(o.s, users, *b, so));
    if (name == "bidder" && !o.s.experiments.empty()) {
      arm_report = fetch_arm_report(o.admin, o.admin_token, runs.back(),
                                    std::chrono::milliseconds(10'000), arm_report_problem);
    }
  }
  if (!o.quiet) {
    out << text_report(o.s, runs);
    if (arm_report || !arm_report_problem.empty()) {
      out << "\n== the bidder's own report per experiment arm (" << arm_report_target << ") ==\n";
      if (arm_report) out << arm_report_text(*arm_report);
      if (!arm_report_problem.empty()) out << "note: " << arm_report_problem << "\n";
    }
  }
  boost::json::object report = json_report(o.s, runs);
  if (arm_report) report["bidder_report_by_arm"] = *arm_report;
  if (!arm_report_problem.empty()) report["bidder_report_problem"] = arm_report_problem;
  if (o.json_path && !write_text_file(*o.json_path, boost::json::serialize(report) + "\n", error)) {
    err << "bidsim: " << error << "\n";
    return 1;
  }
  if (o.html_path && !write_text_file(*o.html_path, html_report(o.s, runs), error)) {
    err << "bidsim: " << error << "\n";
    return 1;
  }
  return 0;
}

}  // namespace bidder::sim
