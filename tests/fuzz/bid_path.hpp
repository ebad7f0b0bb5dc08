// File: tests/fuzz/bid_path.hpp
//
// The bid path after decoding, without a server, for the decoder fuzz targets: an auction over
// the embedded demo config (no audience store, a fixed clock, signed notice URLs), then both
// response writers. Reservations are given back after each input, so budgets and pacing do not
// drift from one input to the next.
//
//   static bidder::fuzz::bid_path path;   // built once
//   path.run(request);                    // after a successful decode
//
// decode_and_bid<Decoder>() is a decoder target's whole body.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "bidder/engine/auction.hpp"
#include "bidder/openrtb/bid_request.hpp"
#include "bidder/openrtb/bid_response.hpp"
#include "bidder/openrtb/json_writer.hpp"
#include "bidder/openrtb/proto_codec.hpp"
#include "tests/fuzz/demo.hpp"

namespace bidder::fuzz {

class bid_path {
 public:
  bid_path()
      : snap_(demo_snapshot()),
        signer_(fixed_key_signer()),
        auction_(std::make_unique<engine::auction>(
            nullptr, 1, 42, engine::auction_services{.signer = signer_.get()})) {}

  void run(const openrtb::bid_request& request) {
    engine::request_context ctx;
    ctx.arrival = fixed_now();
    ctx.now = &fixed_now;
    ctx.wall_now = 1'763'800'000;
    ctx.deadline = engine::compute_deadline(ctx.arrival, request.tmax_ms, snap_->config);
    response_.reset();
    if (auction_->run(*snap_, request, ctx, response_).is_bid()) {
      openrtb::write_json_response(response_, body_);
      if (!openrtb::write_proto_response(response_, body_)) std::abort();
    }
    auction_->cancel_bids();
  }

 private:
  static steady_clock::time_point fixed_now() {
    return steady_clock::time_point(std::chrono::seconds(1000));
  }

  std::shared_ptr<const engine::snapshot> snap_;
  std::unique_ptr<notice::signer> signer_;
  std::unique_ptr<engine::auction> auction_;
  openrtb::bid_response response_;
  std::string body_;
};

/// One fuzz input through a `Decoder` (openrtb::json_decoder or proto_decoder), reused across
/// inputs as a worker does, and through the bid path when it decodes. Every error must name
/// its reason.
template <class Decoder>
int decode_and_bid(const std::uint8_t* data, std::size_t size) {
  static Decoder decoder;
  static openrtb::bid_request request;
  static bid_path path;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto r = decoder.decode(bytes, request); !r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  path.run(request);
  return 0;
}

}  // namespace bidder::fuzz
