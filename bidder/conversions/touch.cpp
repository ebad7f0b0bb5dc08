#include "bidder/conversions/touch.hpp"

#include <algorithm>

#include "bidder/core/codec.hpp"

namespace bidder::conversions {
namespace {

// Encoding: kind (1 byte), at (varint), price_micros (varint, >= 0), then bid, campaign,
// creative, exchange, currency and arm, each a varint length and its bytes.
void put_string(std::string& out, std::string_view s) {
  s = s.substr(0, max_touch_id_bytes);
  put_varint(out, s.size());
  out += s;
}

bool get_string(std::string_view& in, std::string& out) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > max_touch_id_bytes || n > in.size()) return false;
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

}  // namespace

std::string_view to_string(touch_kind kind) noexcept {
  return kind == touch_kind::click ? "click" : "view";
}

void append_touch(std::string& out, const touch& t) {
  out += static_cast<char>(t.kind);
  put_varint(out, static_cast<std::uint64_t>(std::max<unix_seconds>(t.at, 0)));
  put_varint(out, static_cast<std::uint64_t>(std::max<std::int64_t>(t.price_micros, 0)));
  put_string(out, t.bid_id);
  put_string(out, t.campaign_id);
  put_string(out, t.creative_id);
  put_string(out, t.exchange);
  put_string(out, t.currency);
  put_string(out, t.arm);
}

bool read_touches(std::string_view bytes, std::vector<touch>& out) {
  const std::size_t start = out.size();
  while (!bytes.empty()) {
    touch t;
    const auto kind = static_cast<touch_kind>(bytes.front());
    bytes.remove_prefix(1);
    std::uint64_t at = 0, price = 0;
    const bool ok = (kind == touch_kind::view || kind == touch_kind::click) &&
                    get_varint(bytes, at) && at <= std::uint64_t{1} << 40 &&
                    get_varint(bytes, price) && price <= std::uint64_t{1} << 62 &&
                    get_string(bytes, t.bid_id) && get_string(bytes, t.campaign_id) &&
                    get_string(bytes, t.creative_id) && get_string(bytes, t.exchange) &&
                    get_string(bytes, t.currency) && get_string(bytes, t.arm);
    if (!ok) {
      out.resize(start);
      return false;
    }
    t.kind = kind;
    t.at = static_cast<unix_seconds>(at);
    t.price_micros = static_cast<std::int64_t>(price);
    out.push_back(std::move(t));
  }
  return true;
}

std::vector<touch> merge_touches(std::vector<touch> touches, std::size_t max_touches,
                                 unix_seconds horizon) {
  // Newest first; among equal times the click first, then by bid id, so the result does not
  // depend on the operands' order.
  std::sort(touches.begin(), touches.end(), [](const touch& a, const touch& b) {
    if (a.at != b.at) return a.at > b.at;
    if (a.kind != b.kind) return a.kind > b.kind;
    return a.bid_id < b.bid_id;
  });
  std::vector<touch> kept;
  kept.reserve(std::min(touches.size(), max_touches));
  for (touch& t : touches) {
    if (kept.size() == max_touches) break;
    if (!kept.empty() && t.at < kept.front().at - horizon) break;
    const bool repeat = std::any_of(kept.begin(), kept.end(), [&](const touch& k) {
      return k.kind == t.kind && k.bid_id == t.bid_id;
    });
    if (!repeat) kept.push_back(std::move(t));
  }
  return kept;
}

}  // namespace bidder::conversions
