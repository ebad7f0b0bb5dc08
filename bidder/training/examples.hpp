// File: bidder/training/examples.hpp
//
// Turns the event log into training examples for `bidder train`: each BID line (which carries
// the impression's features, events.proto `features`) joined by bid id with its WIN or BILL
// (the impression), its CLICK and the CONVERSIONs credited to it.
//
//   auto data = training::read_examples({.dir = "data/events", .target = model_target::click});
//   for (const training::example& e : data->examples) ...
//
// Click model: one example per impression won (a WIN, a BILL or a CLICK seen), labelled by
// whether it was clicked. Conversion model: one example per clicked impression, labelled by
// whether a conversion was credited to that bid (last_click, or last_view of a clicked bid).
// Bids without features (logged before the field existed) are counted and left out. The log is
// read twice, so memory grows with the bids shown, not with all the bids (most lose).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bidder/core/error.hpp"
#include "bidder/learning/model_file.hpp"

namespace bidder::training {

struct example {
  std::uint32_t campaign = 0;  ///< index into training_data::campaigns
  std::string features;        ///< the BID line's tokens
  std::int64_t time_ms = 0;    ///< the bid's time
  bool label = false;
};

struct read_options {
  std::filesystem::path dir;
  learning::model_target target = learning::model_target::click;
  /// Only these campaigns; empty: all.
  std::set<std::string> campaigns = {};
  /// Conversion model: clicks younger than this at the log's last event (by the CLICK line's
  /// time) are left out: their conversions may not have arrived yet, and would be learned as
  /// "no conversion".
  std::int64_t mature_ms = 0;
};

struct training_data {
  std::vector<std::string> campaigns;
  std::vector<example> examples;   ///< in the order of their bids' times
  std::set<std::string> segments;  ///< segment names in the examples' features
  std::uint64_t bids = 0;
  std::uint64_t bids_without_features = 0;
  std::uint64_t impressions = 0;
  std::uint64_t clicks = 0;
  std::uint64_t conversions = 0;  ///< credited to a bid of the log
  /// Bids shown (a win, bill, click or conversion names them) whose BID line is not in the log.
  std::uint64_t outcomes_without_bid = 0;
  std::uint64_t immature_clicks = 0;  ///< conversion model: left out, see mature_ms
  std::uint64_t lines = 0;
  std::uint64_t malformed_lines = 0;
};

/// Reads and joins the log. Errors: those of reporting::read_log (no such directory...).
[[nodiscard]] result<training_data> read_examples(const read_options& options);

}  // namespace bidder::training
