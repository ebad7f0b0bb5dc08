#include "bidder/training/cli.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "bidder/training/examples.hpp"
#include "bidder/training/trainer.hpp"

namespace bidder::training {
namespace {

constexpr std::string_view usage = R"(usage: bidder train --events DIR --out FILE [options]
  Learns a logistic model (FTRL-Proximal over hashed features) from the event log and writes
  the model file the `learned` pricing model reads. docs/learning.md explains the workflow.
  --events DIR          the event log directory (<data-dir>/events)
  --out FILE            the model file to write (atomically replaced)
  --target T            click (P(click | impression), the default) or conversion
                        (P(conversion | click))
  --campaigns A,B       learn from these campaigns' bids only (default: all)
  --bits N              weight table of 2^N entries, 8 to 26 (default 18: 1 MiB)
  --epochs N            passes over the data (default 3: time order, then shuffled)
  --seed N              feature hashing and shuffles (default 1)
  --holdout-days N      score on the last N UTC days of the log, train on the rest
  --holdout-share X     else score on the last share X of the examples by time (default 0.2)
  --mature-hours H      conversion model: leave out clicks younger than H hours at the log's
                        last event, whose conversions may still come (default 24)
  --alpha X --beta X --l1 X --l2 X   FTRL's parameters (defaults 0.05, 1, 0.5, 1)
  --json FILE           also write the figures as JSON
)";

int fail_usage(std::string_view message) {
  std::cerr << "bidder train: " << message << "\n\n" << usage;
  return 2;
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_double(std::string_view text, double& out) {
  if (!parse_number(text, out)) return false;
  return std::isfinite(out);
}

void print_quality(std::ostream& os, std::string_view name, const quality& q) {
  char line[256];
  std::snprintf(line, sizeof line,
                "%-9s %9llu examples %7llu positive  log-loss %.5f  AUC %.4f  "
                "predicted %.5f observed %.5f (calibration %.3f)\n",
                std::string(name).c_str(), static_cast<unsigned long long>(q.examples),
                static_cast<unsigned long long>(q.positives), q.log_loss, q.auc, q.mean_predicted,
                q.observed_rate, q.calibration);
  os << line;
}

}  // namespace

int run_train_cli(const std::vector<std::string_view>& args) {
  read_options read;
  train_options options;
  std::string out, json;
  bool have_events = false;
  bool mature_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h" || flag == "help") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 == args.size()) return fail_usage(std::string(flag) + " needs a value");
    const std::string_view value = args[++i];
    auto bad = [&](std::string_view what) {
      return fail_usage(std::string(flag) + " " + std::string(value) + ": " + std::string(what));
    };
    if (flag == "--events") {
      read.dir = std::string(value);
      have_events = true;
    } else if (flag == "--out") {
      out = value;
    } else if (flag == "--json") {
      json = value;
    } else if (flag == "--target") {
      if (value == "click") {
        options.target = learning::model_target::click;
      } else if (value == "conversion") {
        options.target = learning::model_target::conversion;
      } else {
        return bad("expected click or conversion");
      }
    } else if (flag == "--campaigns") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        if (comma != 0) read.campaigns.emplace(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else if (flag == "--bits") {
      if (!parse_number(value, options.bits)) return bad("expected a number");
    } else if (flag == "--epochs") {
      if (!parse_number(value, options.epochs) || options.epochs == 0 || options.epochs > 100) {
        return bad("expected 1 to 100");
      }
    } else if (flag == "--seed") {
      if (!parse_number(value, options.seed)) return bad("expected a number");
    } else if (flag == "--holdout-days") {
      if (!parse_number(value, options.holdout_days) || options.holdout_days > 3650) {
        return bad("expected a number of days");
      }
    } else if (flag == "--mature-hours") {
      std::uint32_t hours = 0;
      if (!parse_number(value, hours) || hours > 24 * 365) return bad("expected hours");
      read.mature_ms = std::int64_t{hours} * 3'600'000;
      mature_given = true;
    } else if (flag == "--holdout-share") {
      if (!parse_double(value, options.holdout_share)) return bad("expected a number");
    } else if (flag == "--alpha" || flag == "--beta" || flag == "--l1" || flag == "--l2") {
      double v = 0;
      if (!parse_double(value, v) || v < 0 || (flag == "--alpha" && v == 0)) {
        return bad(flag == "--alpha" ? "expected a number > 0" : "expected a number >= 0");
      }
      (flag == "--alpha"  ? options.ftrl.alpha
       : flag == "--beta" ? options.ftrl.beta
       : flag == "--l1"   ? options.ftrl.l1
                          : options.ftrl.l2) = v;
    } else {
      return fail_usage("unknown option " + std::string(flag));
    }
  }
  if (!have_events) return fail_usage("--events DIR is required");
  if (out.empty()) return fail_usage("--out FILE is required");
  read.target = options.target;
  if (!mature_given && options.target == learning::model_target::conversion) {
    read.mature_ms = std::int64_t{24} * 3'600'000;
  }
  options.now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();

  auto data = read_examples(read);
  if (!data) {
    std::cerr << "bidder train: " << data.error().message << "\n";
    return 1;
  }
  std::cerr << "read " << data->lines << " lines (" << data->malformed_lines
            << " malformed): " << data->bids << " bids (" << data->bids_without_features
            << " without features), " << data->impressions << " impressions, " << data->clicks
            << " clicks, " << data->conversions << " conversions, " << data->outcomes_without_bid
            << " outcomes whose bid was not in the log; " << data->campaigns.size()
            << " campaigns\n";
  auto result = train(*data, options);
  if (!result) {
    std::cerr << "bidder train: " << result.error().message << "\n";
    return 1;
  }
  print_quality(std::cout, "training", result->training);
  print_quality(std::cout, "held-out", result->holdout);
  if (auto w = learning::write_model_file(result->model, out); !w) {
    std::cerr << "bidder train: " << w.error().message << "\n";
    return 1;
  }
  std::cout << "wrote " << out << " (" << learning::to_string(options.target) << " model, 2^"
            << options.bits << " weights)\n";
  if (!json.empty()) {
    std::ofstream file(json);
    file << result->model.summary << "\n";
    if (!file) {
      std::cerr << "bidder train: " << json << ": cannot write\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace bidder::training
