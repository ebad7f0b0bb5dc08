#include "bidder/events/event.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "bidder/core/codec.hpp"
#include "bidder/core/json_text.hpp"
#include "bidder/events/detail/event_record.hpp"

namespace bidder::events {
namespace {

void append_int(std::string& out, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void field_string(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  append_json_string(out, value);
}

void field_int(std::string& out, std::string_view name, std::int64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  append_int(out, value);
}

void optional_string(std::string& out, std::string_view name, std::string_view value) {
  if (!value.empty()) field_string(out, name, value);
}

constexpr std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::string_view to_string(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::bid:
      return "BID";
    case event_kind::win:
      return "WIN";
    case event_kind::bill:
      return "BILL";
    case event_kind::loss:
      return "LOSS";
    case event_kind::click:
      return "CLICK";
    case event_kind::conversion:
      return "CONVERSION";
  }
  return "KIND_UNSPECIFIED";
}

std::string_view to_string(attribution rule) noexcept {
  switch (rule) {
    case attribution::last_click:
      return "last_click";
    case attribution::last_view:
      return "last_view";
    case attribution::unattributed:
      break;
  }
  return "unattributed";
}

std::optional<attribution> attribution_from_string(std::string_view text) noexcept {
  for (attribution a :
       {attribution::unattributed, attribution::last_click, attribution::last_view}) {
    if (text == to_string(a)) return a;
  }
  return std::nullopt;
}

user_hash_key user_hash_key::from_bytes(const std::array<unsigned char, 16>& bytes) noexcept {
  return {load_le64(bytes.data()), load_le64(bytes.data() + 8)};
}

// SipHash-2-4 (Aumasson and Bernstein, 2012), as in the reference implementation.
std::uint64_t hash_user_key(std::string_view user_key, const user_hash_key& key) noexcept {
  std::uint64_t v0 = 0x736f6d6570736575ULL ^ key.k0;
  std::uint64_t v1 = 0x646f72616e646f6dULL ^ key.k1;
  std::uint64_t v2 = 0x6c7967656e657261ULL ^ key.k0;
  std::uint64_t v3 = 0x7465646279746573ULL ^ key.k1;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(user_key.data());
  const std::size_t n = user_key.size();
  const std::size_t whole = n - n % 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    const std::uint64_t m = load_le64(p + i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  std::uint64_t last = static_cast<std::uint64_t>(n & 0xff) << 56;
  for (std::size_t i = 0; i < n % 8; ++i)
    last |= static_cast<std::uint64_t>(p[whole + i]) << (8 * i);
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

void append_json_line(const event& e, bool truncated, std::string& out) {
  out += "{\"kind\":\"";
  out += to_string(e.kind);
  out += '"';
  field_int(out, "time_ms", e.time_ms);
  optional_string(out, "auction_id", e.auction_id);
  optional_string(out, "imp_id", e.imp_id);
  optional_string(out, "bid_id", e.bid_id);
  field_string(out, "campaign_id", e.campaign_id);
  optional_string(out, "creative_id", e.creative_id);
  const bool priced = e.kind != event_kind::click && e.kind != event_kind::conversion;
  const bool cleared = e.kind == event_kind::win || e.kind == event_kind::bill;
  if (priced || !e.bid_price.is_zero()) field_int(out, "bid_price_micros", e.bid_price.micros());
  if (cleared || !e.clearing_price.is_zero()) {
    field_int(out, "clearing_price_micros", e.clearing_price.micros());
  }
  optional_string(out, "currency", e.currency);
  optional_string(out, "exchange", e.exchange);
  optional_string(out, "seat", e.seat);
  if (e.user_key_hash) {
    char digits[16];
    for (int i = 0; i < 16; ++i) {
      digits[i] = hex_digits_lower[(*e.user_key_hash >> (60 - 4 * i)) & 15];
    }
    field_string(out, "user_key_hash", std::string_view(digits, 16));
  }
  optional_string(out, "deal_id", e.deal_id);
  if (e.kind == event_kind::loss || e.loss_reason != 0) {
    field_int(out, "loss_reason", e.loss_reason);
  }
  if (e.device_type != 0) field_int(out, "device_type", e.device_type);
  optional_string(out, "country", e.country);
  if (truncated) out += ",\"truncated\":true";
  if (cleared) out += e.charged ? ",\"charged\":true" : ",\"charged\":false";
  if (e.kind == event_kind::conversion) {
    optional_string(out, "conversion_id", e.conversion_id);
    field_int(out, "value_micros", e.value.micros());
    field_string(out, "attribution", to_string(e.credited_by));
  }
  optional_string(out, "experiment", e.experiment);
  optional_string(out, "arm", e.arm);
  optional_string(out, "features", e.features);
  optional_string(out, "model", e.model);
  out += "}\n";
}

std::string to_json_line(const event& e, bool truncated) {
  std::string out;
  append_json_line(e, truncated, out);
  return out;
}

namespace detail {

namespace {

// Where each string lives in `event`, in arena order.
constexpr std::string_view event::*string_fields[string_field_count] = {
    &event::auction_id,  &event::imp_id,   &event::bid_id,        &event::campaign_id,
    &event::creative_id, &event::currency, &event::exchange,      &event::seat,
    &event::deal_id,     &event::country,  &event::conversion_id, &event::experiment,
    &event::arm,         &event::features, &event::model};

// When the arena is short, shorten first what reports need least: the exchange's own ids, then
// ours; the campaign id (which reports group by) last. Indexes into string_fields.
constexpr std::size_t cut_order[string_field_count] = {
    7 /*seat*/,        8 /*deal_id*/,     1 /*imp_id*/,  0 /*auction_id*/, 13 /*features*/,
    2 /*bid_id*/,      4 /*creative_id*/, 9 /*country*/, 6 /*exchange*/,   10 /*conversion_id*/,
    11 /*experiment*/, 12 /*arm*/,        14 /*model*/,  5 /*currency*/,   3 /*campaign_id*/};

}  // namespace

bool pack(const event& e, event_record& r) noexcept {
  static_assert(max_field_bytes <= 255, "lengths are stored in one byte");
  std::size_t len[string_field_count];
  std::size_t total = 0;
  bool cut = false;
  // A bid's features are all or nothing: a part of them would train a model on other
  // features than it priced with, so they are dropped whole when they do not fit.
  constexpr std::size_t features = 13;
  static_assert(max_features_bytes <= 255, "lengths are stored in one byte");
  for (std::size_t i = 0; i < string_field_count; ++i) {
    len[i] = (e.*string_fields[i]).size();
    const std::size_t most = i == features ? max_features_bytes : max_field_bytes;
    if (len[i] > most) {
      len[i] = i == features ? 0 : most;
      cut = true;
    }
    total += len[i];
  }
  for (std::size_t k = 0; total > max_text_bytes && k < string_field_count; ++k) {
    const std::size_t i = cut_order[k];
    const std::size_t take = i == features ? len[i] : std::min(len[i], total - max_text_bytes);
    len[i] -= take;
    total -= take;
    cut = true;
  }
  char* at = r.text;
  for (std::size_t i = 0; i < string_field_count; ++i) {
    if (len[i] != 0) std::memcpy(at, (e.*string_fields[i]).data(), len[i]);
    r.length[i] = static_cast<std::uint8_t>(len[i]);
    at += len[i];
  }
  r.time_ms = e.time_ms;
  r.bid_price_micros = e.bid_price.micros();
  r.clearing_price_micros = e.clearing_price.micros();
  r.user_key_hash = e.user_key_hash.value_or(0);
  r.has_user_key_hash = e.user_key_hash.has_value();
  r.loss_reason = e.loss_reason;
  r.device_type = e.device_type;
  r.kind = e.kind;
  r.truncated = cut;
  r.charged = e.charged;
  r.value_micros = e.value.micros();
  r.credited_by = e.credited_by;
  return cut;
}

event unpack(const event_record& r) noexcept {
  event e;
  const char* at = r.text;
  for (std::size_t i = 0; i < string_field_count; ++i) {
    e.*string_fields[i] = std::string_view(at, r.length[i]);
    at += r.length[i];
  }
  e.kind = r.kind;
  e.time_ms = r.time_ms;
  e.bid_price = money::from_micros(r.bid_price_micros);
  e.clearing_price = money::from_micros(r.clearing_price_micros);
  if (r.has_user_key_hash) e.user_key_hash = r.user_key_hash;
  e.loss_reason = r.loss_reason;
  e.device_type = r.device_type;
  e.charged = r.charged;
  e.value = money::from_micros(r.value_micros);
  e.credited_by = r.credited_by;
  return e;
}

}  // namespace detail
}  // namespace bidder::events
