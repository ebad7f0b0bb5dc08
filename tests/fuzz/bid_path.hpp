// File: tests/fuzz/bid_path.hpp
//
// The bid path after decoding, without a server, for the decoder fuzz targets: an auction over
// the embedded demo config (no audience store, a fixed clock, signed notice URLs), then both
// response writers. Reservations are given back after each input, so budgets and pacing do not
// drift from one input to the next.
//
//   static bidder::fuzz::bid_path path;   // built once
//   path.run(request);                    // after a successful decode
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "bidder/config/loader.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/notice/signer.hpp"
#include "bidder/openrtb/bid_request.hpp"
#include "bidder/openrtb/bid_response.hpp"
#include "bidder/openrtb/json_writer.hpp"
#include "bidder/openrtb/proto_codec.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"

namespace bidder::fuzz {

class bid_path {
 public:
  bid_path() {
    pricing::registry registry;
    if (!models::register_builtin_models(registry)) std::abort();
    auto config = config::parse(config::demo_config_json(), "<demo>");
    if (!config) std::abort();
    auto built = engine::build_snapshot(**config, registry);
    if (!built) std::abort();
    snap_ = *built;
    auto s = notice::signer::from_key(std::string(notice::min_key_bytes, 'k'));
    if (!s) std::abort();
    signer_ = std::make_unique<notice::signer>(std::move(*s));
    auction_ = std::make_unique<engine::auction>(nullptr, 1, 42,
                                                 engine::auction_services{.signer = signer_.get()});
  }

  void run(const openrtb::bid_request& request) {
    engine::request_context ctx;
    ctx.arrival = fixed_now();
    ctx.now = &fixed_now;
    ctx.wall_now = 1'763'800'000;
    ctx.deadline = engine::compute_deadline(ctx.arrival, request.tmax_ms, snap_->config);
    response_.reset();
    if (auction_->run(*snap_, request, ctx, response_).is_bid()) {
      openrtb::write_json_response(response_, body_);
      openrtb::write_proto_response(response_, body_);
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

}  // namespace bidder::fuzz
