#include "bidder/training/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

namespace bidder::training {

quality measure(std::span<const double> predicted, std::span<const bool> labels) {
  quality q;
  const std::size_t n = std::min(predicted.size(), labels.size());
  q.examples = n;
  if (n == 0) return q;
  double loss = 0, sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = std::clamp(predicted[i], 1e-12, 1 - 1e-12);
    loss -= labels[i] ? std::log(p) : std::log(1 - p);
    sum += predicted[i];
    q.positives += labels[i];
  }
  q.log_loss = loss / static_cast<double>(n);
  q.mean_predicted = sum / static_cast<double>(n);
  q.observed_rate = static_cast<double>(q.positives) / static_cast<double>(n);
  q.calibration = q.observed_rate > 0 ? q.mean_predicted / q.observed_rate : 0;

  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return predicted[a] < predicted[b]; });
  // AUC by the rank sum of the positives (Mann-Whitney), tied predictions sharing their mean
  // rank.
  const std::uint64_t negatives = n - q.positives;
  if (q.positives > 0 && negatives > 0) {
    double rank_sum = 0;
    for (std::size_t i = 0; i < n;) {
      std::size_t j = i;
      while (j < n && predicted[order[j]] == predicted[order[i]]) ++j;
      const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
      for (std::size_t k = i; k < j; ++k) {
        if (labels[order[k]]) rank_sum += mean_rank;
      }
      i = j;
    }
    const double pos = static_cast<double>(q.positives);
    q.auc = (rank_sum - pos * (pos + 1) / 2) / (pos * static_cast<double>(negatives));
  }
  const std::size_t buckets = std::min<std::size_t>(10, n);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t from = b * n / buckets, to = (b + 1) * n / buckets;
    calibration_bucket c;
    for (std::size_t k = from; k < to; ++k) {
      c.predicted += predicted[order[k]];
      c.observed += labels[order[k]];
    }
    c.count = to - from;
    if (c.count > 0) {
      c.predicted /= static_cast<double>(c.count);
      c.observed /= static_cast<double>(c.count);
    }
    q.buckets.push_back(c);
  }
  return q;
}

namespace {
void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char digits[32];
  const auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
  out.append(digits, end);
}
}  // namespace

std::string to_json(const quality& q) {
  std::string out = "{\"examples\":" + std::to_string(q.examples) +
                    ",\"positives\":" + std::to_string(q.positives);
  auto number = [&](std::string_view name, double v) {
    out += ",\"";
    out += name;
    out += "\":";
    append_number(out, v);
  };
  number("log_loss", q.log_loss);
  number("auc", q.auc);
  number("mean_predicted", q.mean_predicted);
  number("observed_rate", q.observed_rate);
  number("calibration", q.calibration);
  out += ",\"buckets\":[";
  for (std::size_t i = 0; i < q.buckets.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"count\":" + std::to_string(q.buckets[i].count);
    number("predicted", q.buckets[i].predicted);
    number("observed", q.buckets[i].observed);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace bidder::training
