// File: bidder/app/event_log_sink.hpp
//
// Connects the engine's event hook (engine/event_sink.hpp) to the event log (bidder/events):
// converts each bid and accepted notice into an events::event and appends it. Non-blocking:
// when the log's queue is full the event is dropped and counted by the log.
//
//   auto log = events::event_log::open({.dir = data_dir / "events"});
//   app::event_log_sink sink(**log);   // pass &sink as auction_services::events
#pragma once

#include "bidder/engine/event_sink.hpp"
#include "bidder/events/event_log.hpp"

namespace bidder::app {

class event_log_sink final : public engine::event_sink {
 public:
  explicit event_log_sink(events::event_log& log) : log_(log) {}
  void on_bid(const engine::bid_event& e) noexcept override;
  void on_notice(const engine::notice_event& e) noexcept override;

 private:
  events::event_log& log_;
};

}  // namespace bidder::app
