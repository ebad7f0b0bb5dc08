// File: bidder/openrtb/bid_request.hpp
//
// The compact, validated view of an OpenRTB 2.6 BidRequest that the engine reads. It holds only
// what the auction needs; strings are views into the decoder's buffers (JSON parser string
// buffer or protobuf arena), valid until that decoder parses the next request. Both the JSON
// and the protobuf decoders fill this same struct, so the engine never knows the wire format.
//
// OpenRTB 2.5 locations of 2.6 fields (regs.ext.gdpr, regs.ext.us_privacy, user.ext.consent,
// user.ext.eids) are folded into the 2.6 fields here by the decoders.
//
// Lifetime: one `bid_request` per worker thread, reset per request; no allocation once warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bidder/core/reuse_vector.hpp"

namespace bidder::openrtb {

/// Limits on a request's shape, applied by both decoders and counted over the whole request (a
/// repeated JSON key cannot add up past them). Far above real traffic, and tight enough that a
/// worker's reused buffers stay bounded however hostile the traffic: every per-imp list is
/// capped, so 64 imps x 64 deals x 256 seats is the most any thread can ever retain (~16 MB).
struct request_limits {
  std::size_t max_imps = 64;
  std::size_t max_formats = 64;      // per banner
  std::size_t max_deals = 64;        // per imp
  std::size_t max_deal_seats = 256;  // per deal
  std::size_t max_imp_list = 64;     // battr, mimes, protocols, rqddurs, per media object
  std::size_t max_top_list = 4096;   // bcat, badv, bapp, wseat, bseat, cur
  std::size_t max_categories = 256;  // site/app categories
  std::size_t max_user_ids = 64;     // user.eids uids
  /// Third-party data segments kept (user.data and site/app/dooh.content.data together). More
  /// do not make a request invalid: the rest are skipped, since a bidder that reads fewer
  /// segments than an exchange sends only loses targeting, never correctness.
  std::size_t max_data_segments = 256;
  std::size_t max_depth = 64;  // JSON nesting; real requests nest < 10 deep
};

struct format {
  std::int32_t w = 0;
  std::int32_t h = 0;
};

struct deal {
  std::string_view id;
  double bidfloor = 0;
  std::string_view bidfloorcur;  // empty: USD
  reuse_vector<std::string_view> wseat;
  void reset() {
    id = {};
    bidfloor = 0;
    bidfloorcur = {};
    wseat.clear();
  }
};

struct banner_spec {
  bool present = false;
  reuse_vector<format> formats;  // banner.w/h first (when given), then banner.format[]
  reuse_vector<std::int32_t> battr;
};

struct video_spec {
  bool present = false;
  std::int32_t w = 0;
  std::int32_t h = 0;
  std::int32_t minduration = 0;
  std::int32_t maxduration = 0;  // 0: no limit given
  reuse_vector<std::string_view> mimes;
  reuse_vector<std::int32_t> battr;
  reuse_vector<std::int32_t> protocols;  // accepted VAST versions (List "Creative Subtypes")
  reuse_vector<std::int32_t> rqddurs;    // exact durations required, seconds (2.6)
};

struct audio_spec {
  bool present = false;
  std::int32_t minduration = 0;
  std::int32_t maxduration = 0;
  reuse_vector<std::string_view> mimes;
  reuse_vector<std::int32_t> battr;
  reuse_vector<std::int32_t> protocols;
  reuse_vector<std::int32_t> rqddurs;
};

struct native_spec {
  bool present = false;
  reuse_vector<std::int32_t> battr;
};

struct imp {
  std::string_view id;
  std::string_view tagid;
  banner_spec banner;
  video_spec video;
  audio_spec audio;
  native_spec native;
  double bidfloor = 0;
  std::string_view bidfloorcur;  // empty: USD
  bool instl = false;
  bool private_auction = false;
  reuse_vector<deal> deals;
  void reset() {
    id = tagid = {};
    banner.present = video.present = audio.present = native.present = false;
    banner.formats.clear();
    banner.battr.clear();
    video.w = video.h = video.minduration = video.maxduration = 0;
    video.mimes.clear();
    video.battr.clear();
    video.protocols.clear();
    video.rqddurs.clear();
    audio.minduration = audio.maxduration = 0;
    audio.mimes.clear();
    audio.battr.clear();
    audio.protocols.clear();
    audio.rqddurs.clear();
    native.battr.clear();
    bidfloor = 0;
    bidfloorcur = {};
    instl = private_auction = false;
    deals.clear();
  }
};

/// The kinds of user identifier an audience look-up can use, in the order they are tried.
enum class user_id_kind : std::uint8_t {
  buyeruid,  // user.buyeruid: our own id for the user, synced with the exchange
  user_id,   // user.id: the exchange's id for the user
  ifa,       // device.ifa: the advertising id of a mobile or CTV device
  eid,       // user.eids[].uids[].id, namespaced by user.eids[].source
};

struct user_id {
  user_id_kind kind = user_id_kind::user_id;
  std::string_view source;  // eid source domain (e.g. "uidapi.com"), empty otherwise
  std::string_view id;
};

/// Where a third-party data object came from: user.data describes the user, content.data the
/// page or stream the impression is in.
enum class data_origin : std::uint8_t { user, content };

/// One segment of a third-party data object (OpenRTB 3.2.21 Data / 3.2.22 Segment), with its
/// provider's fields copied in so the list is flat.
struct data_segment {
  std::string_view provider_id;    // Data.id
  std::string_view provider_name;  // Data.name, often the provider's domain
  std::int32_t segtax = 0;         // Data.ext.segtax (the taxonomy of the ids); 0: not given
  data_origin origin = data_origin::user;
  std::string_view id;  // Segment.id, else Segment.name when the provider gives only names
};

enum class inventory_kind : std::uint8_t { unknown, site, app, dooh };

/// A UTC offset in minutes that a real time zone can have (UTC-12:00 to UTC+14:00).
inline bool plausible_utcoffset(std::int64_t minutes) noexcept {
  return minutes >= -12 * 60 && minutes <= 14 * 60;
}

struct bid_request {
  std::string_view id;
  reuse_vector<imp> imps;
  std::int32_t tmax_ms = 0;  // 0: absent, use the configured default
  bool test = false;
  bool allimps = false;
  std::int32_t auction_type = 2;  // 1 first price, 2 second price plus (the default)
  std::int32_t cattax = 1;        // taxonomy of bcat and the categories; 1: IAB 1.0 (default)
  reuse_vector<std::string_view> cur;
  reuse_vector<std::string_view> bcat;
  reuse_vector<std::string_view> badv;
  reuse_vector<std::string_view> bapp;
  reuse_vector<std::string_view> wseat;
  reuse_vector<std::string_view> bseat;

  // site / app / dooh
  inventory_kind inventory = inventory_kind::unknown;
  std::string_view domain;    // site.domain or app.domain
  std::string_view page;      // site.page
  std::string_view bundle;    // app.bundle (else from app.storeurl, see normalize.hpp)
  std::string_view storeurl;  // app.storeurl
  std::string_view publisher_id;
  reuse_vector<std::string_view> content_cat;  // site/app .cat, .sectioncat, .pagecat

  // device
  std::int32_t devicetype = 0;  // OpenRTB List 5.21; 0: unknown
  std::string_view os;
  std::string_view ifa;  // cleared when lmt or dnt is set (normalize.hpp)
  bool lmt = false;      // device.lmt: limit ad tracking
  bool dnt = false;      // device.dnt: do not track
  std::string_view ip;
  std::string_view ua;
  std::string_view country;  // ISO-3166-1 alpha-3 as OpenRTB sends it
  std::string_view region;
  std::string_view zip;
  /// device.geo.utcoffset (else user.geo.utcoffset): the user's local time minus UTC, in
  /// minutes; nullopt when absent or outside -12 h to +14 h (the real zones' range).
  std::optional<std::int32_t> utcoffset_minutes;

  // user
  std::string_view user_id;
  std::string_view buyeruid;
  std::string_view consent;
  reuse_vector<openrtb::user_id> eids;  // only kind == eid entries
  /// user.data and the inventory's content.data segments, at most max_data_segments.
  reuse_vector<data_segment> data_segments;

  // regs
  bool coppa = false;
  std::optional<bool> gdpr;  // absent: unknown
  std::string_view us_privacy;
  std::string_view gpp;                // regs.gpp (IAB Global Privacy Platform string)
  reuse_vector<std::int32_t> gpp_sid;  // regs.gpp_sid: the GPP sections that apply

  void reset() {
    id = {};
    imps.clear();
    tmax_ms = 0;
    test = allimps = false;
    auction_type = 2;
    cattax = 1;
    cur.clear();
    bcat.clear();
    badv.clear();
    bapp.clear();
    wseat.clear();
    bseat.clear();
    inventory = inventory_kind::unknown;
    domain = page = bundle = storeurl = publisher_id = {};
    content_cat.clear();
    devicetype = 0;
    os = ifa = ip = ua = country = region = zip = {};
    lmt = dnt = false;
    utcoffset_minutes.reset();
    user_id = buyeruid = consent = {};
    eids.clear();
    data_segments.clear();
    coppa = false;
    gdpr.reset();
    us_privacy = gpp = {};
    gpp_sid.clear();
  }
};

/// The index of the first imp whose id an earlier imp of the request already has, or nullopt.
/// OpenRTB requires imp ids unique within a request: a bid names its imp by the id, so a repeat
/// makes the answer ambiguous. Quadratic, over at most request_limits::max_imps imps.
inline std::optional<std::size_t> repeated_imp_id(const bid_request& request) noexcept {
  for (std::size_t i = 1; i < request.imps.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (request.imps[i].id == request.imps[j].id) return i;
    }
  }
  return std::nullopt;
}

}  // namespace bidder::openrtb
