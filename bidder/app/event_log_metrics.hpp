// File: bidder/app/event_log_metrics.hpp
//
// The event log's counters (events::event_log_stats) in Prometheus text, for /metrics: the
// alerts on dropped and lost events (deploy/prometheus/bidder-rules.yml) read them.
//
//   write_event_log_prometheus(log.stats(), out);
#pragma once

#include <string>

#include "bidder/events/event_log.hpp"

namespace bidder::app {

/// Appends bidder_event_log_appends_total{result="accepted|dropped"},
/// bidder_event_log_lines_total{result="written|lost"} and bidder_event_log_write_errors_total.
void write_event_log_prometheus(const events::event_log_stats& stats, std::string& out);

}  // namespace bidder::app
