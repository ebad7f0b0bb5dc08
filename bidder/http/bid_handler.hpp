// File: bidder/http/bid_handler.hpp
//
// The bid port's handler: POST /bid/{exchange} (or POST /bid, the config's default exchange;
// an unknown exchange id gets 404) with an OpenRTB 2.6 BidRequest in JSON (application/json or
// no Content-Type) or protobuf (application/x-protobuf), optionally gzip-encoded. Answers 200
// with a BidResponse in the request's format (gzip when Accept-Encoding asks), 204 with no body
// for no-bid, 400 for an invalid request (the body says what and where), 413 for a body over
// the limit, 415 for an encoding we do not speak, 404/405 for other paths and methods. Every
// answer carries "x-openrtb-version: 2.6". One handler per worker thread.
//
// Also on the bid port: GET /notice/win, /notice/bill, /notice/loss and /click, the URLs the
// bids carry (engine/notice_processor.hpp decides): 204 applied (or a replay), 302 to the
// landing page for a click (with `bclid=<bid id>` added: the click id an advertiser's
// conversion postback names), 400/403/404 refused with nothing changed. They touch only memory
// (the spend state's atomics and a journal the keeper thread writes to disk).
//
// And GET /conversion?px=&cid=&value=&cur=&bclid=, the conversion pixel (docs/conversions.md):
// checked against its pixel's limits here, then queued for attribution (204); 400 bad
// parameters, 404 unknown pixel, 429 over the pixel's rate, 503 queue full.
//
// And GET /segment?px=&id=&url=&action=, the segment pixel (docs/audience-events.md): the same
// answers; the event is queued for the audience event writer, never written here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bidder/audience/store.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/notice_processor.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/http/metrics.hpp"
#include "bidder/http/server.hpp"
#include "bidder/openrtb/bid_request.hpp"
#include "bidder/openrtb/bid_response.hpp"
#include "bidder/openrtb/json_decoder.hpp"
#include "bidder/openrtb/proto_codec.hpp"

namespace bidder::http {

/// The query parameter the click redirect adds to the landing URL: our click id (the bid id).
inline constexpr std::string_view click_id_parameter = "bclid";

/// `landing_url` with `click_id_parameter=<click_id>` added (before any #fragment), built in
/// `out`; `landing_url` itself when the click id is empty.
std::string_view landing_url_with_click_id(std::string_view landing_url, std::string_view click_id,
                                           std::string& out);

class bid_handler final : public handler {
 public:
  /// `services` signs the bids' notice URLs and verifies the notices (without a signer every
  /// notice gets 404).
  bid_handler(const engine::snapshot_holder& snapshots, audience::store* store,
              std::uint32_t worker_id, std::uint64_t seed, std::size_t max_body_bytes,
              const engine::auction_services& services = {});

  steady_clock::time_point handle(request& req, steady_clock::time_point arrival,
                                  response& res) noexcept override;
  void on_written(bool late) noexcept override;
  void on_refused(unsigned status) noexcept override;
  void on_evicted() noexcept override;
  /// Bid requests only: 204, counted as a no-bid for "overload" and by `why`. Notices are
  /// never shed.
  bool shed(const request& req, shed_signal why, response& res) noexcept override;

  const bid_metrics& metrics() const noexcept { return metrics_; }
  const engine::audience_stats& audience() const noexcept { return auction_.stats(); }

 private:
  steady_clock::time_point serve_bid(const engine::snapshot& snap,
                                     std::optional<std::uint32_t> exchange, request& req,
                                     steady_clock::time_point arrival, response& res);
  void serve_notice(notice::notice_kind kind, std::string_view query, response& res);
  void serve_pixel(std::string_view query, response& res);
  void serve_segment_pixel(std::string_view query, response& res);
  void refuse(response& res, unsigned status, std::string_view message);

  engine::snapshot_holder::reader snapshots_;
  engine::auction auction_;
  std::optional<engine::notice_processor> notices_;
  std::size_t max_body_bytes_;
  engine::event_sink* events_;  // may be null
  openrtb::json_decoder json_;
  openrtb::proto_decoder proto_;
  openrtb::bid_request request_;
  openrtb::bid_response response_;
  std::string inflated_;
  std::string encoded_;
  std::string location_;    // a click's redirect
  std::string pixel_text_;  // a pixel's decoded parameters
  bid_metrics metrics_;
};

}  // namespace bidder::http
