// File: bidder/http/reach_api.hpp
//
// The reach estimate of the admin port (docs/audience.md, "Estimating reach"):
//   GET  /admin/audience/estimate?expr=EXPR[&method=auto|exact|sample]
//   POST /admin/audience/estimate[?method=...]   body: EXPR (text, at most 8 KiB)
// EXPR is the text syntax of expression/text.hpp, e.g. all(car@10, any(a, 3p:x:1), not(b)).
// 200 with JSON: the matching stored keys (exact, or estimated from the store's hash sample
// with a 95% interval), the store's keys, the names no push created, the seconds it took, and
// what the bid path's existing counters say of the traffic. 400 with {"error": "at 7: ..."}
// for a bad expression or parameter. Same admin-token rules as every admin path.
//
// Runs on the admin thread: the sample's count takes milliseconds; an exact count of a large
// store (method=exact) takes about a second per 3 million keys, during which the admin port
// waits.
#pragma once

#include <cstdint>
#include <functional>

#include "bidder/audience/segment_store.hpp"
#include "bidder/http/server.hpp"

namespace bidder::http {

/// What the bid path already counts of the audience, summed over the bid threads since start.
struct audience_traffic {
  std::uint64_t requests = 0;  // bid requests
  std::uint64_t lookups = 0;   // audience key look-ups (a request looks up each of its ids)
  std::uint64_t found = 0;     // look-ups that found a stored key
};
using traffic_reader = std::function<audience_traffic()>;

/// Serves `req` when its path is /admin/audience/estimate and returns true; false otherwise.
/// `traffic` may be empty (the answer then has no "bid_traffic").
bool serve_reach_api(audience::segment_store& store, request& req, response& res,
                     const traffic_reader& traffic = {});

}  // namespace bidder::http
