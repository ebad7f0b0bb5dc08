#include "bidder/training/examples.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "bidder/core/hash.hpp"
#include "bidder/report/report.hpp"

namespace bidder::training {
namespace {

void add_segments(std::string_view features, std::set<std::string>& out) {
  while (!features.empty()) {
    const std::size_t space = features.find(' ');
    const std::string_view token = features.substr(0, space);
    features = space == std::string_view::npos ? std::string_view() : features.substr(space + 1);
    // "g=name:b"
    if (token.size() >= 5 && token.starts_with("g=") && token[token.size() - 2] == ':') {
      out.emplace(token.substr(2, token.size() - 4));
    }
  }
}

}  // namespace

result<training_data> read_examples(const read_options& options) {
  training_data data;
  // Two passes, so that memory grows with the outcomes, not with the bids (most bids lose):
  // first what happened to each bid (keyed by a hash of its id), then the bids that were shown.
  struct outcome {
    std::int64_t click_ms = 0;  // the latest click (or last-click conversion's) time
    bool clicked = false, converted = false, matched = false;
  };
  std::unordered_map<std::uint64_t, outcome> outcomes;
  auto wanted = [&](const reporting::log_record& r) {
    return options.campaigns.empty() || options.campaigns.contains(r.campaign_id);
  };
  std::int64_t last_ms = 0;
  auto first = reporting::read_log(options.dir, [&](const reporting::log_record& r) {
    last_ms = std::max(last_ms, r.time_ms);
    if (r.kind == events::event_kind::bid || r.bid_id.empty() || !wanted(r)) return;
    const bool win = r.kind == events::event_kind::win || r.kind == events::event_kind::bill;
    const bool click = r.kind == events::event_kind::click;
    const bool conversion = r.kind == events::event_kind::conversion &&
                            r.credited_by != events::attribution::unattributed;
    if (!win && !click && !conversion) return;
    // Any of them means the ad was shown, whether or not its win notice came.
    outcome& o = outcomes[hash64(r.bid_id)];
    if (click || (conversion && r.credited_by == events::attribution::last_click)) {
      o.clicked = true;
      o.click_ms = std::max(o.click_ms, click ? r.time_ms : o.click_ms);
    }
    if (conversion) o.converted = true;
  });
  if (!first) return first.error();

  std::unordered_map<std::string, std::uint32_t> campaign_index;
  const bool click_model = options.target == learning::model_target::click;
  auto second = reporting::read_log(options.dir, [&](const reporting::log_record& r) {
    if (r.kind != events::event_kind::bid || !wanted(r)) return;
    ++data.bids;
    if (r.features.empty() || r.bid_id.empty()) {
      ++data.bids_without_features;
      return;
    }
    auto it = outcomes.find(hash64(r.bid_id));
    if (it == outcomes.end() || it->second.matched) return;  // lost, or a repeated line
    outcome& o = it->second;
    o.matched = true;
    ++data.impressions;
    data.clicks += o.clicked;
    data.conversions += o.converted;
    if (!click_model && !o.clicked) return;
    if (!click_model && std::max(o.click_ms, r.time_ms) > last_ms - options.mature_ms) {
      ++data.immature_clicks;
      return;
    }
    auto [c, added] = campaign_index.emplace(r.campaign_id, data.campaigns.size());
    if (added) data.campaigns.push_back(r.campaign_id);
    add_segments(r.features, data.segments);
    data.examples.push_back({.campaign = c->second,
                             .features = r.features,
                             .time_ms = r.time_ms,
                             .label = click_model ? o.clicked : o.converted});
  });
  if (!second) return second.error();
  data.lines = second->lines;
  data.malformed_lines = second->malformed;
  for (const auto& [key, o] : outcomes) data.outcomes_without_bid += !o.matched;
  // Time order (ties broken by content, so the order never depends on the hash map's).
  std::sort(data.examples.begin(), data.examples.end(), [](const example& a, const example& b) {
    return std::tie(a.time_ms, a.campaign, a.features, a.label) <
           std::tie(b.time_ms, b.campaign, b.features, b.label);
  });
  return data;
}

}  // namespace bidder::training
