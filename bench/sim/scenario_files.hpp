// File: bench/sim/scenario_files.hpp
//
// What bidsim gives the real bidder: its config (the scenario's exchanges and campaigns, in the
// bidder's JSON config format, loadable with `bidder serve --config FILE`) and the audience
// files of the population (one per segment, in the format of `bidder audience push`,
// docs/audience.md), which bidsim can also push itself over the admin API.
//
//   write_config(s, "http://127.0.0.1:8080", "sim/config.json");
//   write_audiences(s, users, now, "sim/audiences");   // sim/audiences/<segment>.txt
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/sim/market.hpp"

namespace bidder::sim {

/// The bidder config of the scenario (JSON text).
std::string config_json(const scenario& s, const std::string& notice_base_url);

struct audience_file {
  std::string segment;
  std::string text;  // lines "buyeruid:<id>\t<last seen, unix s>"
  std::size_t members = 0;
};
/// One file per segment. Last-seen times are placed relative to `now` (unix s) in the middle
/// of the day the user was seen, so a push within 12 hours keeps every recency window right.
std::vector<audience_file> audience_files(const population& users, std::int64_t now);

/// Writes `text` to `path`. Errors: a message.
bool write_text_file(const std::string& path, const std::string& text, std::string& error);

}  // namespace bidder::sim
