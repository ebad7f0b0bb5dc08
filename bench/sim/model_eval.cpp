#include "bench/sim/model_eval.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include "bench/sim/rng.hpp"
#include "bench/sim/simulator.hpp"
#include "bidder/learning/features.hpp"
#include "bidder/openrtb/json_decoder.hpp"

namespace bidder::sim {

model_evaluation evaluate_click_model(const scenario& s, const population& users,
                                      const learning::model& m, const evaluation_options& options) {
  model_evaluation out;
  segment_dictionary names;
  const segment_id car = names.intern(segment_car_visitor);
  const segment_id affluent = names.intern(segment_affluent);
  const segment_id luxury = names.intern(segment_luxury);
  openrtb::json_decoder decoder;
  openrtb::bid_request request;
  std::vector<segment_membership> segments;
  std::vector<double> predicted, truth, observable;
  std::vector<char> labels;
  learning::feature_tokens tokens;
  learning::hashed_features hashed;
  const std::uint64_t n = options.max_requests > 0
                              ? std::min(options.max_requests, total_requests(s))
                              : total_requests(s);
  constexpr std::int64_t day = 86'400;
  // The run's requests: those of days start_day .. start_day + days - 1 (--start-day).
  const std::uint64_t first = first_request(s);
  for (std::uint64_t k = first; k < first + n; ++k) {
    const opportunity o = make_opportunity(s, users, k);
    const user& u = users[o.user];
    // What the bidder sees: the request it would parse (its local hour is the simulated one)
    // and the memberships the audience files give (scenario_files.cpp's last-seen times).
    const std::string body = request_json(s, users, o, offset_for_local_hour(options.now, o.hour));
    if (!decoder.decode(body, request)) continue;
    segments.clear();
    if (u.car_visit_days_ago >= 0) {
      segments.push_back({car, options.now - u.car_visit_days_ago * day - day / 2});
    }
    if (u.affluent) segments.push_back({affluent, options.now - day / 2});
    if (u.old_luxury_car) segments.push_back({luxury, options.now - 30 * day});
    learning::extract({.request = request,
                       .imp = request.imps[0],
                       .segments = segments,
                       .segment_names = &names,
                       .now = options.now,
                       .exchange = s.exchanges[o.exchange].id},
                      tokens);
    ++out.requests;
    for (std::size_t c = 0; c < s.campaigns.size(); ++c) {
      if (!eligible(s.campaigns[c], u)) continue;
      learning::hash_features(tokens, learning::campaign_hash(s.campaigns[c].id, m.seed), m.seed,
                              hashed);
      const double p = click_probability(s, s.campaigns[c], u, o);
      user without_latent = u;
      without_latent.click_latent = 0;
      observable.push_back(click_probability(s, s.campaigns[c], without_latent, o));
      // One click draw per (request, campaign), independent of the market's own draws.
      const draw d{s.seed ^ 0x6576616c75617465ULL, stream::outcome, k};
      predicted.push_back(m.predict(hashed));
      truth.push_back(p);
      labels.push_back(d.uniform(c) < p);
      ++out.pairs;
    }
  }
  std::unique_ptr<bool[]> flags(new bool[labels.size()]);
  for (std::size_t i = 0; i < labels.size(); ++i) flags[i] = labels[i] != 0;
  const std::span<const bool> drawn(flags.get(), labels.size());
  out.model = training::measure(predicted, drawn);
  out.oracle = training::measure(truth, drawn);
  out.observable = training::measure(observable, drawn);
  return out;
}

std::string evaluation_text(const model_evaluation& e) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line,
                "click model on %llu requests, %llu (request, campaign) pairs, %llu clicks drawn\n",
                static_cast<unsigned long long>(e.requests),
                static_cast<unsigned long long>(e.pairs),
                static_cast<unsigned long long>(e.model.positives));
  out += line;
  out += "          log-loss     AUC   mean P  observed  calibration\n";
  for (const auto& [name, q] : {std::pair<const char*, const training::quality*>{"model", &e.model},
                                {"oracle", &e.oracle},
                                {"observable", &e.observable}}) {
    std::snprintf(line, sizeof line, "%-10s  %8.5f  %6.4f  %7.5f  %8.5f  %11.3f\n", name,
                  q->log_loss, q->auc, q->mean_predicted, q->observed_rate, q->calibration);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "AUC gap to the oracle: %.4f; to the observable oracle (no user latent): %.4f\n",
                e.oracle.auc - e.model.auc, e.observable.auc - e.model.auc);
  out += line;
  return out;
}

}  // namespace bidder::sim
