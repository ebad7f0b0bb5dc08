// File: bidder/openrtb/proto_codec.hpp
//
// The binary protobuf wire format of OpenRTB 2.6 (schema: proto/openrtb/openrtb.proto), for
// exchanges that send `application/x-protobuf` instead of JSON:
//  - `proto_decoder` turns a protobuf BidRequest into the engine's `bid_request` view, with the
//    mapping bid_request.hpp describes for both decoders;
//  - `write_proto_response` encodes a `bid_response` as a protobuf BidResponse.
// Protobuf types stay out of this header: the generated code is only seen by proto_codec.cpp.
//
//   proto_decoder decoder;                  // one per worker thread, reused
//   bid_request request;
//   if (auto r = decoder.decode(body, request); !r) reply_400(r.error().message);
//   ...
//   write_proto_response(response, body_out);
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"
#include "bidder/openrtb/bid_request.hpp"
#include "bidder/openrtb/bid_response.hpp"

namespace bidder::openrtb {

/// Decodes protobuf BidRequests into the engine's view; one per worker thread, reused. Parsed
/// messages live in a protobuf arena, reset per call, whose first 64 KiB block is kept across
/// calls. Protobuf 3.21 still puts the characters of each string longer than 15 bytes on the
/// heap (one malloc per such field: page, ua, long ids), freed by the next reset.
class proto_decoder {
 public:
  proto_decoder() noexcept;
  ~proto_decoder();
  proto_decoder(const proto_decoder&) = delete;
  proto_decoder& operator=(const proto_decoder&) = delete;

  /// Parses `bytes` (binary protobuf) into `out` (after out.reset()). Views in `out` point into
  /// this decoder's arena-owned message and stay valid until the next decode() call. On error
  /// `out` holds whatever was filled so far and must not be used.
  /// Errors: errc::malformed_request (not a valid BidRequest encoding, e.g. garbage/truncated),
  ///         errc::missing_field (no id, no imp, an imp without id or without any of
  ///                              banner/video/audio/native),
  ///         errc::invalid_field (more than 64 imps, a negative or non-finite bidfloor, a
  ///                              negative tmax),
  ///         errc::too_large (a body protobuf cannot address, or out of memory).
  /// The message names the field, e.g. "imp[2].id: missing".
  [[nodiscard]] result<void> decode(std::string_view bytes, bid_request& out);

 private:
  struct state;  // the arena and its first block; created by the first decode()
  std::unique_ptr<state> state_;
};

/// Appends the protobuf encoding of `response` to `out` (cleared first). All bids go in one
/// seatbid with seat = response.seat (omitted when empty); cur is set when non-empty; no seatbid
/// is written when there are no bids. Encodes straight into `out`, which keeps its capacity.
/// Never throws: if memory runs out it returns false with `out` empty (answer a no-bid).
[[nodiscard]] bool write_proto_response(const bid_response& response, std::string& out) noexcept;

}  // namespace bidder::openrtb
