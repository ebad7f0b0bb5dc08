// File: bidder/openrtb/bid_response.hpp
//
// What the engine decided for one request, ready to be written as an OpenRTB 2.6 BidResponse
// in JSON (json_writer.hpp) or protobuf (proto_codec.hpp). Views point into the request (ids)
// or into the immutable campaign snapshot (markup, domains, categories), both of which outlive
// the write. Strings the engine builds per bid (bid id, notice URLs) are owned `std::string`s
// that keep their capacity across requests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bidder/core/reuse_vector.hpp"

namespace bidder::openrtb {

/// OpenRTB 2.6 bid.mtype ("Markup Type": 1 banner, 2 video, 3 audio, 4 native).
enum class markup_type : std::int32_t { banner = 1, video = 2, audio = 3, native = 4 };

struct bid {
  std::string id;  // unique per bid; also keys win/loss/bill notices
  std::string_view imp_id;
  double price = 0;  // CPM in bid_response::cur
  std::string_view adid;
  std::string_view crid;
  std::string_view cid;  // campaign id
  std::string_view adm;
  /// The same markup already escaped for a JSON string, in parts to be joined by
  /// `adm_json_joiner` (escaped as it is written): the engine escapes each creative's markup
  /// once per snapshot rather than once per bid. Empty: the JSON writer escapes `adm` itself.
  /// When set, joining the unescaped parts with the joiner gives `adm`.
  std::span<const std::string> adm_json_parts;
  std::string_view adm_json_joiner;
  std::string_view dealid;
  std::string_view bundle;  // advertised app, when the campaign promotes one
  std::string nurl;
  std::string burl;
  std::string lurl;
  /// nurl, burl, lurl and adm_json_joiner hold only printable ASCII other than '"' and '\\'
  /// (the engine's notice URLs: a checked base URL, url-safe ids, percent-encoded values), so
  /// the JSON writer copies them without looking for bytes to escape.
  bool urls_json_safe = false;
  std::span<const std::string> adomain;  // advertiser domains of the campaign
  std::span<const std::string> cat;      // IAB content categories of the campaign
  std::int32_t w = 0;
  std::int32_t h = 0;
  markup_type mtype = markup_type::banner;
  void reset() {
    id.clear();
    imp_id = adid = crid = cid = adm = dealid = bundle = adm_json_joiner = {};
    adm_json_parts = {};
    nurl.clear();
    burl.clear();
    lurl.clear();
    urls_json_safe = false;
    adomain = {};
    cat = {};
    w = h = 0;
    price = 0;
    mtype = markup_type::banner;
  }
};

struct bid_response {
  std::string_view id;  // echoes bid_request::id
  std::string_view cur;
  std::string_view seat;
  reuse_vector<bid> bids;
  void reset() {
    id = cur = seat = {};
    bids.clear();
  }
};

}  // namespace bidder::openrtb
