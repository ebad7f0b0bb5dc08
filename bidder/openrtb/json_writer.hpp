// File: bidder/openrtb/json_writer.hpp
//
// Writes a `bid_response` as OpenRTB 2.6 BidResponse JSON straight into a reusable string:
// no DOM, no allocation once the string has grown to its working size.
//
//   std::string body;                        // per connection or per thread
//   bidder::openrtb::write_json_response(response, body);
#pragma once

#include <string>
#include <string_view>

#include "bidder/openrtb/bid_response.hpp"

namespace bidder::openrtb {

/// Replaces `out` with the JSON text of `response` (all bids in one seatbid).
void write_json_response(const bid_response& response, std::string& out);

}  // namespace bidder::openrtb
