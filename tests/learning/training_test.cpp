// `bidder train` (issue 16): the event log joined into examples, FTRL, metrics, the command.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include "bidder/events/event.hpp"
#include "bidder/learning/model_file.hpp"
#include "bidder/training/cli.hpp"
#include "bidder/training/examples.hpp"
#include "bidder/training/metrics.hpp"
#include "bidder/training/trainer.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace bidder;

// A synthetic market with a known truth: P(click) = sigmoid(-4 + 1.5 [car] + 0.8 [site a]
// - 0.5 [phone]), for two campaigns (the second's clicks twice as likely: +0.7).
struct truth {
  static double p(bool car, bool site_a, bool phone, int campaign) {
    const double z = -4 + 1.5 * car + 0.8 * site_a - 0.5 * phone + 0.7 * campaign;
    return 1 / (1 + std::exp(-z));
  }
};

struct synthetic {
  training::training_data data;
  std::vector<double> true_p;
};

synthetic make_data(std::size_t n, std::uint64_t seed) {
  synthetic out;
  out.data.campaigns = {"c0", "c1"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const bool car = u(rng) < 0.3, site_a = u(rng) < 0.5, phone = u(rng) < 0.4;
    const int campaign = u(rng) < 0.5 ? 1 : 0;
    const double p = truth::p(car, site_a, phone, campaign);
    std::string features = std::string("x=ex s=") + (site_a ? "a.example" : "b.example") +
                           " d=" + (phone ? "4" : "2") + " h=" + std::to_string(i % 24);
    if (car) features += " g=car:1";
    out.data.examples.push_back({.campaign = static_cast<std::uint32_t>(campaign),
                                 .features = std::move(features),
                                 .time_ms = static_cast<std::int64_t>(i) * 1000,
                                 .label = u(rng) < p});
    out.true_p.push_back(p);
  }
  out.data.segments = {"car"};
  return out;
}

}  // namespace

TEST_CASE("metrics: AUC, log-loss and calibration on known cases", "[training][unit]") {
  const std::vector<double> p{0.1, 0.2, 0.8, 0.9};
  const bool perfect[] = {false, false, true, true};
  const bool reversed[] = {true, true, false, false};
  CHECK(training::measure(p, perfect).auc == Approx(1.0));
  CHECK(training::measure(p, reversed).auc == Approx(0.0));
  const std::vector<double> tied{0.5, 0.5, 0.5, 0.5};
  const auto q = training::measure(tied, perfect);
  CHECK(q.auc == Approx(0.5));
  CHECK(q.log_loss == Approx(std::log(2.0)));
  CHECK(q.calibration == Approx(1.0));
  CHECK(q.buckets.size() == 4);
  const bool none[] = {false, false, false, false};
  CHECK(training::measure(p, none).calibration == 0);
}

TEST_CASE("ftrl: learns a known market; held out, close to the truth's own AUC",
          "[training][unit]") {
  const synthetic s = make_data(60000, 11);
  auto trained = training::train(s.data, {.bits = 16, .seed = 3, .holdout_share = 0.25});
  REQUIRE(trained.has_value());
  CHECK(trained->holdout_examples == 15000);
  // The oracle: the true probabilities scored on the same held-out labels.
  std::vector<double> oracle(s.true_p.begin() + 45000, s.true_p.end());
  std::unique_ptr<bool[]> labels(new bool[15000]);
  for (std::size_t i = 0; i < 15000; ++i) labels[i] = s.data.examples[45000 + i].label;
  const auto best = training::measure(oracle, std::span<const bool>(labels.get(), 15000));
  INFO("model AUC " << trained->holdout.auc << " oracle " << best.auc << " calibration "
                    << trained->holdout.calibration);
  CHECK(trained->holdout.auc > best.auc - 0.02);
  CHECK(trained->holdout.calibration == Approx(1.0).margin(0.15));
  CHECK(trained->holdout.log_loss < best.log_loss + 0.01);
  // The model file stores what it learned, and predicts as the trainer scored.
  auto back = learning::parse_model(learning::serialize_model(trained->model), "m");
  REQUIRE(back.has_value());
  CHECK(back->segments == std::vector<std::string>{"car"});
  CHECK_THAT(back->summary, Catch::Contains(R"("holdout":{"examples":15000)"));
}

TEST_CASE("ftrl: training is deterministic for a seed", "[training][unit]") {
  const synthetic s = make_data(5000, 5);
  auto a = training::train(s.data, {.bits = 12, .seed = 9});
  auto b = training::train(s.data, {.bits = 12, .seed = 9});
  auto c = training::train(s.data, {.bits = 12, .seed = 10});
  REQUIRE((a && b && c));
  CHECK(a->model.weights == b->model.weights);
  CHECK(learning::serialize_model(a->model) == learning::serialize_model(b->model));
  CHECK(a->model.weights != c->model.weights);
}

TEST_CASE("train: refuses what it cannot learn from, naming why", "[training][unit]") {
  training::training_data empty;
  auto r = training::train(empty, {});
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::Contains("no training examples"));
  synthetic s = make_data(100, 1);
  for (auto& e : s.data.examples) e.label = false;
  r = training::train(s.data, {});
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::Contains("no positive training example"));
  CHECK_FALSE(training::train(s.data, {.bits = 40}).has_value());
  CHECK_FALSE(training::train(s.data, {.holdout_share = 1.0}).has_value());
}

namespace {

// Writes an event log file as the bidder does (events::to_json_line).
void write_log(const std::filesystem::path& dir, const std::vector<events::event>& events) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / "events-20261205-000000-1.jsonl");
  for (const auto& e : events) out << events::to_json_line(e);  // ends with its newline
  out << "{not json\n";                                         // a line a crash cut short
}

events::event bid(std::string_view id, std::string_view campaign, std::string_view features,
                  std::int64_t t) {
  events::event e;
  e.kind = events::event_kind::bid;
  e.time_ms = t;
  e.bid_id = id;
  e.campaign_id = campaign;
  e.features = features;
  e.currency = "USD";
  return e;
}

events::event outcome(events::event_kind kind, std::string_view id, std::string_view campaign,
                      std::int64_t t) {
  events::event e = bid(id, campaign, "", t);
  e.kind = kind;
  if (kind == events::event_kind::conversion) {
    e.conversion_id = "order";
    e.credited_by = events::attribution::last_click;
  }
  return e;
}

}  // namespace

TEST_CASE("examples: bids joined with their wins, clicks and conversions", "[training][unit]") {
  test::temp_dir dir("training-log");
  using k = events::event_kind;
  write_log(dir.path,
            {bid("b1", "shoes", "x=ex s=a g=car:0", 1000), bid("b2", "shoes", "x=ex s=b", 2000),
             bid("b3", "socks", "x=ex s=a", 3000),  // lost: no example
             bid("b4", "shoes", "", 4000),          // an old line without features
             outcome(k::win, "b1", "shoes", 1100), outcome(k::win, "b2", "shoes", 2100),
             outcome(k::loss, "b3", "socks", 3100), outcome(k::click, "b1", "shoes", 1200),
             outcome(k::conversion, "b1", "shoes", 5000),
             outcome(k::win, "b9", "shoes", 9000)});  // its bid is not in the log
  auto clicks = training::read_examples({.dir = dir.path});
  REQUIRE(clicks.has_value());
  CHECK(clicks->bids == 4);
  CHECK(clicks->bids_without_features == 1);
  CHECK(clicks->impressions == 2);
  CHECK(clicks->clicks == 1);
  CHECK(clicks->conversions == 1);
  CHECK(clicks->outcomes_without_bid == 1);
  CHECK(clicks->malformed_lines == 1);
  REQUIRE(clicks->examples.size() == 2);
  CHECK(clicks->examples[0].features == "x=ex s=a g=car:0");
  CHECK(clicks->examples[0].label);
  CHECK_FALSE(clicks->examples[1].label);
  CHECK(clicks->segments == std::set<std::string>{"car"});

  auto conversions =
      training::read_examples({.dir = dir.path, .target = learning::model_target::conversion});
  REQUIRE(conversions.has_value());
  REQUIRE(conversions->examples.size() == 1);  // one clicked impression, converted
  CHECK(conversions->examples[0].label);

  // b1's click (at 1.2 s) is 7.8 s before the log's last event (9 s): a 10 s maturity leaves it
  // out of the conversion model, as its conversions might still have been on their way.
  auto mature = training::read_examples(
      {.dir = dir.path, .target = learning::model_target::conversion, .mature_ms = 10'000});
  REQUIRE(mature.has_value());
  CHECK(mature->examples.empty());
  CHECK(mature->immature_clicks == 1);

  auto socks = training::read_examples({.dir = dir.path, .campaigns = {"socks"}});
  REQUIRE(socks.has_value());
  CHECK(socks->examples.empty());
  CHECK_FALSE(training::read_examples({.dir = dir.path / "none"}).has_value());
}

TEST_CASE("bidder train: the command writes a model file the learned model reads",
          "[training][unit]") {
  test::temp_dir dir("training-cli");
  std::vector<events::event> log;
  std::vector<std::string> ids;
  for (int i = 0; i < 400; ++i) ids.push_back("b" + std::to_string(i));
  for (int i = 0; i < 400; ++i) {
    log.push_back(bid(ids[static_cast<std::size_t>(i)], "shoes",
                      i % 2 ? "x=ex s=good.example" : "x=ex s=poor.example", i * 1000));
    log.push_back(
        outcome(events::event_kind::win, ids[static_cast<std::size_t>(i)], "shoes", i * 1000 + 1));
    if (i % 2 && i % 3 == 0) {
      log.push_back(outcome(events::event_kind::click, ids[static_cast<std::size_t>(i)], "shoes",
                            i * 1000 + 2));
    }
  }
  write_log(dir.path / "events", log);
  const std::string events = (dir.path / "events").string(), out = (dir.path / "c.model").string();
  CHECK(training::run_train_cli({"--events", events, "--out", out, "--bits", "12"}) == 0);
  auto m = learning::read_model_file(out);
  REQUIRE(m.has_value());
  CHECK(m->target == learning::model_target::click);
  CHECK(m->examples == 320);  // 20 % held out
  CHECK(training::run_train_cli({"--events", events}) == 2);
  CHECK(training::run_train_cli({"--events", events, "--out", out, "--target", "views"}) == 2);
  CHECK(training::run_train_cli({"--events", events, "--out", out, "--bits", "x"}) == 2);
  CHECK(training::run_train_cli({"--events", events, "--out", out, "--campaigns", "none"}) == 1);
}
