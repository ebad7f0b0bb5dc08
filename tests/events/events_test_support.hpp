// File: tests/events/events_test_support.hpp
//
// Helpers for the event-log tests: a temp directory, an injected clock the test moves, the
// files a log wrote, and sample events of every kind.
//
//   temp_dir dir;
//   fake_clock clock(t0);
//   auto log = event_log::open({.dir = dir.path, .clock = clock});
//   clock.advance(std::chrono::hours(1));
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "bidder/events/event.hpp"
#include "tests/support/temp_dir.hpp"

namespace events_test {

namespace fs = std::filesystem;
using sys_ms = std::chrono::sys_time<std::chrono::milliseconds>;

/// 2026-11-22T10:15:30.250Z
inline const sys_ms t0{std::chrono::milliseconds(1'795'342'530'250)};

// This file's temporary directories (tests/support/temp_dir.hpp).
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-events-test") {}
};

/// A wall clock the test sets; copies share the time (the log keeps a copy).
class fake_clock {
 public:
  explicit fake_clock(sys_ms start)
      : ms_(std::make_shared<std::atomic<std::int64_t>>(start.time_since_epoch().count())) {}
  std::chrono::system_clock::time_point operator()() const {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_->load()));
  }
  void set(sys_ms t) { ms_->store(t.time_since_epoch().count()); }
  void advance(std::chrono::milliseconds d) { ms_->fetch_add(d.count()); }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> ms_;
};

/// Every file in `dir` (name -> content), sorted by name.
inline std::map<std::string, std::string> read_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out[entry.path().filename().string()] = text.str();
  }
  return out;
}

/// The lines of `text` (each without its '\n'); a last piece without '\n' is dropped.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

/// All complete lines of all files in `dir`, in file-name order.
inline std::vector<std::string> all_lines(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& [name, text] : read_files(dir)) {
    for (auto& line : lines_of(text)) out.push_back(std::move(line));
  }
  return out;
}

inline void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// An event of `kind` with every field that kind carries set.
inline bidder::events::event sample(bidder::events::event_kind kind, std::int64_t time_ms = 0) {
  using bidder::money;
  bidder::events::event e;
  e.kind = kind;
  e.time_ms = time_ms != 0 ? time_ms : t0.time_since_epoch().count();
  e.auction_id = "auction-1";
  e.imp_id = "1";
  e.bid_id = "bid-7";
  e.campaign_id = "auto-intenders";
  e.creative_id = "auto-banner-1";
  using bidder::events::event_kind;
  if (kind != event_kind::click && kind != event_kind::conversion) {
    e.bid_price = money::from_micros(2'500'000);
  }
  if (kind == bidder::events::event_kind::win || kind == bidder::events::event_kind::bill) {
    e.clearing_price = money::from_micros(1'800'000);
  }
  e.currency = "USD";
  e.exchange = "x1";
  e.seat = "seat-9";
  e.user_key_hash = 0x9f2c51d0a7b3e4c1ULL;
  e.deal_id = "deal-3";
  if (kind == bidder::events::event_kind::loss) e.loss_reason = 102;
  e.device_type = 4;
  e.country = "USA";
  if (kind == event_kind::conversion) {
    e.conversion_id = "order-1187";
    e.value = money::from_micros(59'900'000);
    e.credited_by = bidder::events::attribution::last_click;
  }
  return e;
}

}  // namespace events_test
