#include "bidder/app/event_log_metrics.hpp"

namespace bidder::app {

void write_event_log_prometheus(const events::event_log_stats& stats, std::string& out) {
  auto line = [&out](const char* name, const char* labels, std::uint64_t value) {
    out += name;
    out += labels;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
  };
  out +=
      "# HELP bidder_event_log_appends_total Events offered to the event log: accepted into its "
      "queue, or dropped (queue full, or the log stopped).\n"
      "# TYPE bidder_event_log_appends_total counter\n";
  line("bidder_event_log_appends_total", "{result=\"accepted\"}", stats.accepted);
  line("bidder_event_log_appends_total", "{result=\"dropped\"}", stats.dropped);
  out +=
      "# HELP bidder_event_log_lines_total Accepted events written to a file, or lost (a failed "
      "write or a file that would not open).\n"
      "# TYPE bidder_event_log_lines_total counter\n";
  line("bidder_event_log_lines_total", "{result=\"written\"}", stats.written);
  line("bidder_event_log_lines_total", "{result=\"lost\"}", stats.lost);
  out +=
      "# HELP bidder_event_log_write_errors_total Failed open, write, fsync or close calls of "
      "the event log.\n"
      "# TYPE bidder_event_log_write_errors_total counter\n";
  line("bidder_event_log_write_errors_total", "", stats.write_errors);
}

}  // namespace bidder::app
