#include "bidder/openrtb/proto_codec.hpp"

#include <google/protobuf/arena.h>

#include <bit>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "bidder/core/codec.hpp"
#include "bidder/openrtb/normalize.hpp"
#include "openrtb/openrtb.pb.h"

namespace bidder::openrtb {
namespace {

using pb_request = BidRequest;
using pb_imp = BidRequest_Imp;
using pb_geo = BidRequest_Geo;
using pb_response = BidResponse;
using pb_seatbid = BidResponse_SeatBid;
using pb_bid = BidResponse_SeatBid_Bid;

/// The shape limits shared with the JSON decoder (bid_request.hpp).
constexpr request_limits limits{};

/// The arena's first block, kept across requests. A typical request decodes into a few KiB of
/// message objects; larger ones spill into heap blocks that Arena::Reset() returns on the next
/// call. (String characters beyond 15 bytes are on the heap either way in protobuf 3.21.)
constexpr std::size_t initial_block_size = 64 * 1024;

std::string_view view(const std::string& s) noexcept { return s; }

error too_many(std::string_view field, std::size_t max_items) {
  return make_error(errc::invalid_field,
                    std::string(field) + ": more than " + std::to_string(max_items) + " items");
}

template <class Strings>
result<void> copy_strings(const Strings& from, reuse_vector<std::string_view>& to,
                          std::size_t max_items, std::string_view field) {
  if (static_cast<std::size_t>(from.size()) > max_items) return too_many(field, max_items);
  for (const std::string& s : from) to.push_back(s);
  return {};
}

template <class Ints>
result<void> copy_ints(const Ints& from, reuse_vector<std::int32_t>& to, std::size_t max_items,
                       std::string_view field) {
  if (static_cast<std::size_t>(from.size()) > max_items) return too_many(field, max_items);
  for (std::int32_t v : from) to.push_back(v);
  return {};
}

std::string imp_field(int index, std::string_view field) {
  std::string name = "imp[" + std::to_string(index) + "]";
  if (!field.empty()) {
    name += '.';
    name += field;
  }
  return name;
}

/// A floor must be a price: finite and not negative.
bool valid_floor(double floor) noexcept { return std::isfinite(floor) && floor >= 0; }

result<void> decode_imp(const pb_imp& in, int index, imp& out) {
  if (in.id().empty()) return make_error(errc::missing_field, imp_field(index, "id") + ": missing");
  if (!in.has_banner() && !in.has_video() && !in.has_audio() && !in.has_native()) {
    return make_error(errc::missing_field,
                      imp_field(index, "") + ": missing (needs banner, video, audio or native)");
  }
  out.id = view(in.id());
  out.tagid = view(in.tagid());

  if (in.has_banner()) {
    const auto& banner = in.banner();
    out.banner.present = true;
    if (static_cast<std::size_t>(banner.format_size()) > limits.max_formats) {
      return too_many(imp_field(index, "banner.format"), limits.max_formats);
    }
    if (banner.w() > 0 && banner.h() > 0) out.banner.formats.push_back({banner.w(), banner.h()});
    for (const auto& f : banner.format()) {
      if (f.w() > 0 && f.h() > 0) out.banner.formats.push_back({f.w(), f.h()});
    }
    if (auto r = copy_ints(banner.battr(), out.banner.battr, limits.max_imp_list,
                           imp_field(index, "banner.battr"));
        !r) {
      return r;
    }
  }
  if (in.has_video()) {
    const auto& video = in.video();
    out.video.present = true;
    out.video.w = video.w();
    out.video.h = video.h();
    out.video.minduration = video.minduration();
    out.video.maxduration = video.maxduration();
    for (auto r : {copy_strings(video.mimes(), out.video.mimes, limits.max_imp_list,
                                imp_field(index, "video.mimes")),
                   copy_ints(video.battr(), out.video.battr, limits.max_imp_list,
                             imp_field(index, "video.battr")),
                   copy_ints(video.protocols(), out.video.protocols, limits.max_imp_list,
                             imp_field(index, "video.protocols")),
                   copy_ints(video.rqddurs(), out.video.rqddurs, limits.max_imp_list,
                             imp_field(index, "video.rqddurs"))}) {
      if (!r) return r;
    }
  }
  if (in.has_audio()) {
    const auto& audio = in.audio();
    out.audio.present = true;
    out.audio.minduration = audio.minduration();
    out.audio.maxduration = audio.maxduration();
    for (auto r : {copy_strings(audio.mimes(), out.audio.mimes, limits.max_imp_list,
                                imp_field(index, "audio.mimes")),
                   copy_ints(audio.battr(), out.audio.battr, limits.max_imp_list,
                             imp_field(index, "audio.battr")),
                   copy_ints(audio.protocols(), out.audio.protocols, limits.max_imp_list,
                             imp_field(index, "audio.protocols")),
                   copy_ints(audio.rqddurs(), out.audio.rqddurs, limits.max_imp_list,
                             imp_field(index, "audio.rqddurs"))}) {
      if (!r) return r;
    }
  }
  if (in.has_native()) {
    out.native.present = true;
    if (auto r = copy_ints(in.native().battr(), out.native.battr, limits.max_imp_list,
                           imp_field(index, "native.battr"));
        !r) {
      return r;
    }
  }

  if (!valid_floor(in.bidfloor())) {
    return make_error(errc::invalid_field,
                      imp_field(index, "bidfloor") + ": must be a finite number >= 0");
  }
  out.bidfloor = in.bidfloor();
  out.bidfloorcur = view(in.bidfloorcur());
  out.instl = in.instl();

  if (in.has_pmp()) {
    const auto& pmp = in.pmp();
    out.private_auction = pmp.private_auction();
    if (static_cast<std::size_t>(pmp.deals_size()) > limits.max_deals) {
      return too_many(imp_field(index, "pmp.deals"), limits.max_deals);
    }
    for (int d = 0; d < pmp.deals_size(); ++d) {
      const auto& from = pmp.deals(d);
      // A deal without an id cannot be bid on (bid.dealid must name it): skip it.
      if (from.id().empty()) continue;
      if (!valid_floor(from.bidfloor())) {
        return make_error(errc::invalid_field,
                          imp_field(index, "pmp.deals[" + std::to_string(d) + "].bidfloor") +
                              ": must be a finite number >= 0");
      }
      deal& to = out.deals.emplace();
      to.id = view(from.id());
      to.bidfloor = from.bidfloor();
      to.bidfloorcur = view(from.bidfloorcur());
      if (auto r = copy_strings(from.wseat(), to.wseat, limits.max_deal_seats,
                                imp_field(index, "pmp.deals[" + std::to_string(d) + "].wseat"));
          !r) {
        return r;
      }
    }
  }
  return {};
}

template <class Inventory>
result<void> decode_inventory(const Inventory& in, inventory_kind kind, bid_request& out) {
  out.inventory = kind;
  out.domain = view(in.domain());
  out.publisher_id = view(in.publisher().id());
  if (static_cast<std::size_t>(in.cat_size() + in.sectioncat_size() + in.pagecat_size()) >
      limits.max_categories) {
    return too_many("site/app categories", limits.max_categories);
  }
  for (const auto* list : {&in.cat(), &in.sectioncat(), &in.pagecat()}) {
    for (const std::string& c : *list) out.content_cat.push_back(c);
  }
  return {};
}

// Data objects (user.data, content.data): segments past max_data_segments are skipped, as in
// the JSON decoder.
template <class DataList>
void copy_data_segments(const DataList& list, data_origin origin, bid_request& out) {
  for (const auto& data : list) {
    for (const auto& segment : data.segment()) {
      if (out.data_segments.size() == limits.max_data_segments) return;
      const std::string& id = segment.id().empty() ? segment.name() : segment.id();
      if (id.empty()) continue;
      out.data_segments.push_back({.provider_id = view(data.id()),
                                   .provider_name = view(data.name()),
                                   .segtax = data.ext().segtax(),
                                   .origin = origin,
                                   .id = view(id)});
    }
  }
}

bool has_location(const pb_geo& geo) noexcept {
  return !geo.country().empty() || !geo.region().empty() || !geo.zip().empty();
}

result<void> decode_request(const pb_request& in, bid_request& out) {
  if (in.id().empty()) return make_error(errc::missing_field, "id: missing");
  if (in.imp_size() == 0) return make_error(errc::missing_field, "imp: missing");
  if (static_cast<std::size_t>(in.imp_size()) > limits.max_imps) {
    return make_error(errc::invalid_field,
                      "imp: more than " + std::to_string(limits.max_imps) + " impressions");
  }
  if (in.tmax() < 0) return make_error(errc::invalid_field, "tmax: must be >= 0");

  out.id = view(in.id());
  for (int i = 0; i < in.imp_size(); ++i) {
    if (auto r = decode_imp(in.imp(i), i, out.imps.emplace()); !r) return r;
  }
  if (auto i = repeated_imp_id(out)) {
    return make_error(errc::invalid_field,
                      imp_field(static_cast<int>(*i), "id") + ": repeats an earlier imp's id");
  }
  out.tmax_ms = in.tmax();
  out.test = in.test();
  out.allimps = in.allimps();
  out.auction_type = in.at();  // 2 when absent (the schema default)
  if (in.has_cattax()) out.cattax = in.cattax();
  for (auto r : {copy_strings(in.cur(), out.cur, limits.max_top_list, "cur"),
                 copy_strings(in.bcat(), out.bcat, limits.max_top_list, "bcat"),
                 copy_strings(in.badv(), out.badv, limits.max_top_list, "badv"),
                 copy_strings(in.bapp(), out.bapp, limits.max_top_list, "bapp"),
                 copy_strings(in.wseat(), out.wseat, limits.max_top_list, "wseat"),
                 copy_strings(in.bseat(), out.bseat, limits.max_top_list, "bseat")}) {
    if (!r) return r;
  }

  switch (in.distributionchannel_oneof_case()) {
    case pb_request::kSite:
      if (auto r = decode_inventory(in.site(), inventory_kind::site, out); !r) return r;
      out.page = view(in.site().page());
      break;
    case pb_request::kApp:
      if (auto r = decode_inventory(in.app(), inventory_kind::app, out); !r) return r;
      out.bundle = view(in.app().bundle());
      out.storeurl = view(in.app().storeurl());
      break;
    case pb_request::kDooh:
      out.inventory = inventory_kind::dooh;
      out.domain = view(in.dooh().domain());
      out.publisher_id = view(in.dooh().publisher().id());
      break;
    case pb_request::DISTRIBUTIONCHANNEL_ONEOF_NOT_SET:
      break;
  }

  const auto& device = in.device();
  out.devicetype = device.devicetype();
  out.os = view(device.os());
  out.ifa = view(device.ifa());
  out.lmt = device.lmt();
  out.dnt = device.dnt();
  out.ip = view(device.ip().empty() ? device.ipv6() : device.ip());
  out.ua = view(device.ua());
  // The device's current location; the user's home location when the device has none. Both
  // default to empty messages when absent. One source for all three, so they stay consistent.
  const pb_geo& geo = has_location(device.geo()) ? device.geo() : in.user().geo();
  out.country = view(geo.country());
  out.region = view(geo.region());
  out.zip = view(geo.zip());
  // The local time offset: the device's, else the user's home one.
  for (const pb_geo* g : {&device.geo(), &in.user().geo()}) {
    if (g->has_utcoffset() && plausible_utcoffset(g->utcoffset())) {
      out.utcoffset_minutes = g->utcoffset();
      break;
    }
  }

  const auto& user = in.user();
  out.user_id = view(user.id());
  out.buyeruid = view(user.buyeruid());
  out.consent = view(user.consent());
  copy_data_segments(user.data(), data_origin::user, out);
  switch (in.distributionchannel_oneof_case()) {
    case pb_request::kSite:
      copy_data_segments(in.site().content().data(), data_origin::content, out);
      break;
    case pb_request::kApp:
      copy_data_segments(in.app().content().data(), data_origin::content, out);
      break;
    case pb_request::kDooh:
      copy_data_segments(in.dooh().content().data(), data_origin::content, out);
      break;
    case pb_request::DISTRIBUTIONCHANNEL_ONEOF_NOT_SET:
      break;
  }
  for (const auto& eid : user.eids()) {
    for (const auto& uid : eid.uids()) {
      if (uid.id().empty()) continue;
      if (out.eids.size() == limits.max_user_ids) return too_many("user.eids", limits.max_user_ids);
      out.eids.push_back({user_id_kind::eid, view(eid.source()), view(uid.id())});
    }
  }

  const auto& regs = in.regs();
  out.coppa = regs.coppa();
  if (regs.has_gdpr()) out.gdpr = regs.gdpr();
  out.us_privacy = view(regs.us_privacy());
  out.gpp = view(regs.gpp());
  return copy_ints(regs.gpp_sid(), out.gpp_sid, limits.max_imp_list, "regs.gpp_sid");
}

// ---- BidResponse encoding -------------------------------------------------------------------
// Written by hand into the caller's string (no message objects, no copies of the markup); the
// field numbers come from the generated classes so they cannot drift from the schema.

enum wire_type : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2 };

constexpr std::uint64_t tag(int field, wire_type type) noexcept {
  return (static_cast<std::uint64_t>(field) << 3) | type;
}

/// Counts the bytes a message would take.
struct size_sink {
  std::size_t size = 0;
  void put_varint(std::uint64_t v) noexcept { size += varint_size(v); }
  void put_fixed64(std::uint64_t) noexcept { size += 8; }
  void put_bytes(std::string_view s) noexcept { size += s.size(); }
};

/// Appends the bytes to a string.
struct string_sink {
  std::string& out;
  void put_varint(std::uint64_t v) { bidder::put_varint(out, v); }
  void put_fixed64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void put_bytes(std::string_view s) { out.append(s); }
};

template <class Sink>
void put_string(Sink& sink, int field, std::string_view s) {
  sink.put_varint(tag(field, length_delimited));
  sink.put_varint(s.size());
  sink.put_bytes(s);
}

template <class Sink>
void put_nonempty(Sink& sink, int field, std::string_view s) {
  if (!s.empty()) put_string(sink, field, s);
}

template <class Sink>
void put_int32(Sink& sink, int field, std::int32_t v) {
  sink.put_varint(tag(field, varint));
  // Negative int32 values are sign-extended to 10 bytes, as protobuf does.
  sink.put_varint(static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
}

template <class Sink>
void put_double(Sink& sink, int field, double v) {
  sink.put_varint(tag(field, fixed64));
  sink.put_fixed64(std::bit_cast<std::uint64_t>(v));
}

/// Writes the fields of one Bid in field-number order.
template <class Sink>
void put_bid_fields(Sink& sink, const bid& b) {
  put_string(sink, pb_bid::kIdFieldNumber, b.id);
  put_string(sink, pb_bid::kImpidFieldNumber, b.imp_id);
  put_double(sink, pb_bid::kPriceFieldNumber, b.price);
  put_nonempty(sink, pb_bid::kAdidFieldNumber, b.adid);
  put_nonempty(sink, pb_bid::kNurlFieldNumber, b.nurl);
  put_nonempty(sink, pb_bid::kAdmFieldNumber, b.adm);
  for (const std::string& d : b.adomain) put_string(sink, pb_bid::kAdomainFieldNumber, d);
  put_nonempty(sink, pb_bid::kCidFieldNumber, b.cid);
  put_nonempty(sink, pb_bid::kCridFieldNumber, b.crid);
  put_nonempty(sink, pb_bid::kDealidFieldNumber, b.dealid);
  put_nonempty(sink, pb_bid::kBundleFieldNumber, b.bundle);
  for (const std::string& c : b.cat) put_string(sink, pb_bid::kCatFieldNumber, c);
  if (b.w > 0) put_int32(sink, pb_bid::kWFieldNumber, b.w);
  if (b.h > 0) put_int32(sink, pb_bid::kHFieldNumber, b.h);
  put_nonempty(sink, pb_bid::kBurlFieldNumber, b.burl);
  put_nonempty(sink, pb_bid::kLurlFieldNumber, b.lurl);
  put_int32(sink, pb_bid::kMtypeFieldNumber, static_cast<std::int32_t>(b.mtype));
}

std::size_t bid_size(const bid& b) noexcept {
  size_sink sizer;
  put_bid_fields(sizer, b);
  return sizer.size;
}

template <class Sink>
void put_seatbid_fields(Sink& sink, const bid_response& response) {
  for (const bid& b : response.bids) {
    sink.put_varint(tag(pb_seatbid::kBidFieldNumber, length_delimited));
    sink.put_varint(bid_size(b));
    put_bid_fields(sink, b);
  }
  put_nonempty(sink, pb_seatbid::kSeatFieldNumber, response.seat);
}

template <class Sink>
void put_response_fields(Sink& sink, const bid_response& response) {
  put_string(sink, pb_response::kIdFieldNumber, response.id);
  if (!response.bids.empty()) {
    size_sink seatbid;
    put_seatbid_fields(seatbid, response);
    sink.put_varint(tag(pb_response::kSeatbidFieldNumber, length_delimited));
    sink.put_varint(seatbid.size);
    put_seatbid_fields(sink, response);
  }
  put_nonempty(sink, pb_response::kCurFieldNumber, response.cur);
}

}  // namespace

struct proto_decoder::state {
  static google::protobuf::ArenaOptions arena_options(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = initial_block_size;
    options.start_block_size = 16 * 1024;
    options.max_block_size = 256 * 1024;
    return options;
  }

  state() : block(new char[initial_block_size]), arena(arena_options(block.get())) {}

  std::unique_ptr<char[]> block;  // declared before `arena`, which must not outlive it
  google::protobuf::Arena arena;
  std::string normalized;  // normalize_request's rewritten values
};

proto_decoder::proto_decoder() noexcept = default;
proto_decoder::~proto_decoder() = default;

result<void> proto_decoder::decode(std::string_view bytes, bid_request& out) {
  try {
    out.reset();
    if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
      return make_error(errc::too_large, "body: too large for a protobuf message");
    }
    if (!state_) {
      state_ = std::make_unique<state>();
    } else {
      state_->arena.Reset();  // frees the previous message; keeps the first block
    }
    auto* message = google::protobuf::Arena::CreateMessage<pb_request>(&state_->arena);
    if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return make_error(errc::malformed_request, "body: not a valid protobuf BidRequest");
    }
    auto decoded = decode_request(*message, out);
    if (decoded) normalize_request(out, state_->normalized);
    return decoded;
  } catch (const std::bad_alloc&) {
    return make_error(errc::out_of_memory, "body: out of memory while decoding");
  } catch (const std::exception& e) {
    return make_error(errc::malformed_request, std::string("body: ") + e.what());
  } catch (...) {
    return make_error(errc::malformed_request, "body: unknown error while decoding");
  }
}

bool write_proto_response(const bid_response& response, std::string& out) noexcept {
  out.clear();
  try {
    size_sink sizer;
    put_response_fields(sizer, response);
    out.reserve(sizer.size);
    string_sink sink{out};
    put_response_fields(sink, response);
    return true;
  } catch (...) {
    out.clear();  // only std::bad_alloc can get here
    return false;
  }
}

}  // namespace bidder::openrtb
