// File: bidder/openrtb/json_decoder.hpp
//
// Decodes an OpenRTB 2.5/2.6 JSON BidRequest into `bid_request` in one pass with simdjson's
// on-demand API: no DOM, unknown fields skipped, each wanted field read once. Types of the
// fields the engine uses are checked (a string where a number belongs is a 400, naming the
// path, e.g. "imp[0].banner.w: expected an integer"); JSON null counts as absent.
//
//   bidder::openrtb::json_decoder decoder;          // one per worker thread
//   bidder::openrtb::bid_request request;
//   if (auto r = decoder.decode(body, request); !r) reply_400(r.error().message);
//
// Not thread-safe; views in the decoded request live until the next decode() call.
#pragma once

#include <memory>
#include <string_view>

#include "bidder/core/error.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::openrtb {

/// The decoder applies openrtb::request_limits (bid_request.hpp).
using decode_limits = request_limits;

class json_decoder {
 public:
  explicit json_decoder(decode_limits limits = {});
  ~json_decoder();
  json_decoder(const json_decoder&) = delete;
  json_decoder& operator=(const json_decoder&) = delete;

  /// Fills `out` (reset first) from `json`. Errors: malformed_request (not JSON, truncated,
  /// nested deeper than max_depth, trailing bytes, a bad literal or escape anywhere, even in
  /// unknown fields), invalid_field (wrong type, more items than request_limits allows),
  /// missing_field (no id, no imp, an imp without id or without any media object).
  [[nodiscard]] result<void> decode(std::string_view json, bid_request& out);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bidder::openrtb
