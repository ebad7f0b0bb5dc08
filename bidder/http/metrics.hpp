// File: bidder/http/metrics.hpp
//
// Counters of the bid port, one set per worker thread (single writer, relaxed atomics), summed
// by the admin port's /metrics into Prometheus text. Nothing here locks or allocates on the
// bid path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "bidder/core/deadline.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/notice_processor.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/http/shed_signal.hpp"
#include "bidder/notice/notice_url.hpp"

namespace bidder::http {

/// Upper bounds of the latency histogram buckets, in microseconds (the last is +Inf).
inline constexpr std::array<std::uint32_t, 14> latency_bucket_us = {
    25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, UINT32_MAX};

struct bid_metrics {
  using counter = std::atomic<std::uint64_t>;
  counter requests{0};
  counter bids{0};      // 200 answers with a BidResponse
  counter bid_imps{0};  // bids inside those answers
  std::array<counter, static_cast<std::size_t>(engine::no_bid_reason::count_)> no_bids{};
  counter bad_requests{0};  // 400: undecodable or invalid OpenRTB, malformed HTTP
  counter too_large{0};     // 413
  counter unsupported{0};   // 404/405/415: wrong path, method or encoding
  counter timeouts{0};      // 408
  counter internal_errors{0};
  counter late_answers{0};         // written after the request's deadline: the target is zero
  counter evicted_connections{0};  // closed to make room at the connection cap
  std::array<counter, static_cast<std::size_t>(shed_signal::count_)> shed{};  // by signal
  counter gzip_requests{0};
  counter protobuf_requests{0};
  std::array<counter, latency_bucket_us.size()> latency{};  // handler time, per bucket
  counter latency_sum_us{0};
  // Notices and clicks (GET /notice/..., /click): applied, by kind; not applied, by reason.
  std::array<counter, static_cast<std::size_t>(notice::notice_kind::count_)> notices{};
  std::array<counter, static_cast<std::size_t>(engine::notice_error::count_)> notice_errors{};
  counter notices_priced_at_bid{0};  // an encrypted ${AUCTION_PRICE}: the bid price charged

  void add(counter& c, std::uint64_t n = 1) noexcept { c.fetch_add(n, std::memory_order_relaxed); }
  void observe_latency(steady_clock::duration d) noexcept;
};

/// Appends the Prometheus text of the summed `workers` (and their auctions' audience stats).
void write_prometheus(std::span<const bid_metrics* const> workers,
                      std::span<const engine::audience_stats* const> audience, std::string& out);

/// Appends the spend gauges of the campaigns of `snap` (spend today and over the life, budget
/// left, reserved, pacing rate, wins, bills, losses, clicks) and of its ledger's tables.
/// Appends one Prometheus sample line: `name{labels} value` (no braces without labels).
void write_metric_line(std::string& out, std::string_view name, std::string_view labels,
                       std::uint64_t value);

void write_spend_prometheus(const engine::snapshot& snap, std::string& out);

}  // namespace bidder::http
