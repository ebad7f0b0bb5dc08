// File: bidder/training/cli.hpp
//
// `bidder train`: learns a click or conversion model from the event log and writes the model
// file the `learned` pricing model reads (docs/learning.md). Offline: it reads the files, no
// bidder needed; the bidder picks the new file up at its next reload.
//
//   bidder train --events data/events --target click --out models/click.model
#pragma once

#include <string_view>
#include <vector>

namespace bidder::training {

/// Runs `bidder train ARGS...` (without "train"); prints what it read and the model's quality
/// on the training and held-out examples. Returns 0 ok, 1 cannot read or write or learn, 2 bad
/// usage.
int run_train_cli(const std::vector<std::string_view>& args);

}  // namespace bidder::training
