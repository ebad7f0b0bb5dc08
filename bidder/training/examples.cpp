#include "bidder/training/examples.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "bidder/report/report.hpp"

namespace bidder::training {
namespace {

struct bid_state {
  std::uint32_t campaign = 0;
  std::string features;
  std::int64_t time_ms = 0;
  bool won = false;
  bool clicked = false;
  bool converted = false;
};

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
  std::unordered_map<std::string, bid_state> bids;
  std::unordered_map<std::string, std::uint32_t> campaign_index;
  std::uint64_t outcomes_seen = 0, outcomes_joined = 0;
  auto stats = reporting::read_log(options.dir, [&](const reporting::log_record& r) {
    if (!options.campaigns.empty() && !options.campaigns.contains(r.campaign_id)) return;
    if (r.kind == events::event_kind::bid) {
      ++data.bids;
      if (r.features.empty() || r.bid_id.empty()) {
        ++data.bids_without_features;
        return;
      }
      auto [it, added] = campaign_index.emplace(r.campaign_id, data.campaigns.size());
      if (added) data.campaigns.push_back(r.campaign_id);
      bid_state& b = bids[r.bid_id];
      b.campaign = it->second;
      b.features = r.features;
      b.time_ms = r.time_ms;
      return;
    }
    if (r.bid_id.empty()) return;
    const bool win = r.kind == events::event_kind::win || r.kind == events::event_kind::bill;
    const bool click = r.kind == events::event_kind::click;
    const bool conversion = r.kind == events::event_kind::conversion &&
                            r.credited_by != events::attribution::unattributed;
    if (!win && !click && !conversion) return;
    ++outcomes_seen;
    auto it = bids.find(r.bid_id);
    if (it == bids.end()) return;  // its BID is in a file not read, or was not logged
    ++outcomes_joined;
    // A click or a conversion means the ad was shown, whether or not its win notice came.
    it->second.won = true;
    if (click || (conversion && r.credited_by == events::attribution::last_click)) {
      it->second.clicked = true;
    }
    if (conversion) it->second.converted = true;
  });
  if (!stats) return stats.error();
  data.lines = stats->lines;
  data.malformed_lines = stats->malformed;
  data.outcomes_without_bid = outcomes_seen - outcomes_joined;

  for (auto& [id, b] : bids) {
    if (!b.won) continue;
    ++data.impressions;
    data.clicks += b.clicked;
    data.conversions += b.converted;
    const bool click_model = options.target == learning::model_target::click;
    if (!click_model && !b.clicked) continue;
    add_segments(b.features, data.segments);
    data.examples.push_back({.campaign = b.campaign,
                             .features = std::move(b.features),
                             .time_ms = b.time_ms,
                             .label = click_model ? b.clicked : b.converted});
  }
  // Time order (ties by features, so the order never depends on the hash map's).
  std::sort(data.examples.begin(), data.examples.end(), [](const example& a, const example& b) {
    return std::tie(a.time_ms, a.campaign, a.features, a.label) <
           std::tie(b.time_ms, b.campaign, b.features, b.label);
  });
  return data;
}

}  // namespace bidder::training
