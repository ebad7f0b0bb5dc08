// File: bench/load/audience_fill.hpp
//
// Writes a generated audience straight into the bidder's RocksDB store, so a load test can run
// against a known data set (10 million users, say) without the audience-file pipeline. The
// store is the one `bidder serve --data-dir DIR` opens: DIR/audience. Users are written with
// audience::store::write_user, the control-plane call the demo users use.
//
//   traffic_generator gen({.seed = 1, .users = 10'000'000});
//   auto n = fill_audience_store(gen, "/tmp/bench-data", wall_now(), &std::cerr);
//
// Thread-safety: one call at a time per directory (RocksDB locks the database).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "bench/load/traffic_generator.hpp"
#include "bidder/core/error.hpp"

namespace bidder::bench {

/// Returns the number of users written. `progress`, when given, gets a line every million
/// users. Errors: io_error (cannot open or write the store).
[[nodiscard]] result<std::uint64_t> fill_audience_store(const traffic_generator& generator,
                                                        const std::string& data_dir,
                                                        std::int64_t now, std::ostream* progress);

}  // namespace bidder::bench
