#include "bidder/learning/features.hpp"

#include <algorithm>
#include <charconv>

namespace bidder::learning {
namespace {

// hash64 computed a byte at a time, so a token is hashed as its canonical text without
// building that text.
class incremental_hash {
 public:
  explicit incremental_hash(std::uint64_t seed) noexcept
      : h_(0xcbf29ce484222325ULL ^ mix64(seed)) {}
  void add(char c) noexcept {
    h_ ^= static_cast<unsigned char>(c);
    h_ *= 0x100000001b3ULL;
  }
  std::uint64_t done() const noexcept { return mix64(h_); }

 private:
  std::uint64_t h_;
};

char canonical(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return '_';
  return c;
}

std::uint64_t cross(std::uint64_t a, std::uint64_t b) noexcept {
  return mix64(a * 0x9e3779b97f4a7c15ULL + b);
}

// Appends a number's digits to the token scratch; empty view when they do not fit.
std::string_view number_text(feature_tokens& out, std::int64_t value) noexcept {
  char* begin = out.digits.data() + out.digits_used;
  char* end = out.digits.data() + out.digits.size();
  auto [last, ec] = std::to_chars(begin, end, value);
  if (ec != std::errc()) return {};
  out.digits_used += static_cast<std::size_t>(last - begin);
  return {begin, static_cast<std::size_t>(last - begin)};
}

std::string_view slot_text(feature_tokens& out, const openrtb::imp& imp) noexcept {
  auto size_text = [&](char prefix, std::int32_t w, std::int32_t h) -> std::string_view {
    char* begin = out.digits.data() + out.digits_used;
    char* end = out.digits.data() + out.digits.size();
    char* p = begin;
    if (prefix != 0 && p < end) *p++ = prefix;
    auto r1 = std::to_chars(p, end, w);
    if (r1.ec != std::errc() || r1.ptr == end) return {};
    p = r1.ptr;
    *p++ = 'x';
    auto r2 = std::to_chars(p, end, h);
    if (r2.ec != std::errc()) return {};
    out.digits_used += static_cast<std::size_t>(r2.ptr - begin);
    return {begin, static_cast<std::size_t>(r2.ptr - begin)};
  };
  if (imp.banner.present && !imp.banner.formats.empty()) {
    return size_text(0, imp.banner.formats[0].w, imp.banner.formats[0].h);
  }
  if (imp.video.present) return size_text('v', imp.video.w, imp.video.h);
  if (imp.audio.present) return "a";
  if (imp.native.present) return "n";
  return {};
}

}  // namespace

bool is_canonical(std::string_view value) noexcept {
  if (value.size() > max_value_bytes) return false;
  return std::all_of(value.begin(), value.end(), [](char c) { return canonical(c) == c; });
}

char recency_bucket(std::int64_t last_seen, unix_seconds now) noexcept {
  if (last_seen <= 0) return '5';
  const std::int64_t age = now - last_seen;
  if (age < 86400) return '0';
  if (age < 3 * 86400) return '1';
  if (age < 7 * 86400) return '2';
  if (age < 14 * 86400) return '3';
  if (age < 30 * 86400) return '4';
  return '5';
}

void extract(const extract_input& in, feature_tokens& out) noexcept {
  out.size = 0;
  out.digits_used = 0;
  out.text_bytes = 0;
  auto add = [&](char key, std::string_view value, char bucket = 0) {
    if (value.empty() || out.size == out.items.size()) return;
    // write_text's size for this token: separator, "k=", the value, ":b".
    const std::size_t bytes = (out.size > 0 ? 1 : 0) + 2 + std::min(value.size(), max_value_bytes) +
                              (bucket != 0 ? 2 : 0);
    if (out.text_bytes + bytes > max_text_bytes) return;
    out.text_bytes += bytes;
    out.items[out.size++] = {key, value, bucket};
  };
  const openrtb::bid_request& r = in.request;
  add('x', in.exchange);
  if (r.inventory == openrtb::inventory_kind::app) {
    add('a', r.bundle.empty() ? r.domain : r.bundle);
  } else {
    add('s', r.domain);
  }
  add('p', r.publisher_id);
  if (r.devicetype > 0) add('d', number_text(out, r.devicetype));
  add('o', r.os);
  add('c', r.country);
  add('r', r.region);
  add('z', r.zip);
  // The user's local hour when the request gives the offset, else UTC's (as pricing's
  // local_hour, which this component cannot include).
  const std::int64_t local = in.now + std::int64_t{r.utcoffset_minutes.value_or(0)} * 60;
  std::int64_t hour = (local / 3600) % 24;
  if (hour < 0) hour += 24;
  add('h', number_text(out, hour));
  add('f', slot_text(out, in.imp));
  if (!r.content_cat.empty()) add('k', r.content_cat[0]);
  if (in.segment_names != nullptr) {
    for (const segment_membership& m : in.segments) {
      if (m.segment >= in.segment_names->size()) continue;
      add('g', in.segment_names->name(m.segment), recency_bucket(m.last_seen, in.now));
    }
  }
}

std::size_t write_text(const feature_tokens& tokens, std::span<char> buffer) noexcept {
  std::size_t used = 0;
  for (std::size_t i = 0; i < tokens.size; ++i) {
    const token& t = tokens.items[i];
    const std::size_t value = std::min(t.value.size(), max_value_bytes);
    const std::size_t need = (used > 0 ? 1 : 0) + 2 + value + (t.bucket != 0 ? 2 : 0);
    if (used + need > buffer.size()) continue;  // a shorter token may still fit
    if (used > 0) buffer[used++] = ' ';
    buffer[used++] = t.key;
    buffer[used++] = '=';
    for (std::size_t j = 0; j < value; ++j) buffer[used++] = canonical(t.value[j]);
    if (t.bucket != 0) {
      buffer[used++] = ':';
      buffer[used++] = t.bucket;
    }
  }
  return used;
}

std::uint64_t token_hash(const token& t, std::uint64_t seed) noexcept {
  incremental_hash h(seed);
  h.add(t.key);
  h.add('=');
  const std::size_t value = std::min(t.value.size(), max_value_bytes);
  for (std::size_t j = 0; j < value; ++j) h.add(canonical(t.value[j]));
  if (t.bucket != 0) {
    h.add(':');
    h.add(t.bucket);
  }
  return h.done();
}

std::uint64_t campaign_hash(std::string_view campaign_id, std::uint64_t seed) noexcept {
  return hash64(campaign_id, mix64(seed ^ 0x63616d706169676eULL));  // "campaign"
}

void hash_tokens(const feature_tokens& tokens, std::uint64_t seed, token_hashes& out) noexcept {
  out.size = 0;
  out.seed = seed;
  for (std::size_t i = 0; i < tokens.size; ++i) {
    const token& t = tokens.items[i];
    if (t.value.empty()) continue;
    out.key[out.size] = t.key;
    out.hash[out.size] = token_hash(t, seed);
    out.plain[out.size] = t.bucket != 0 ? token_hash({t.key, t.value, 0}, seed) : 0;
    ++out.size;
  }
}

void hash_tokens(std::string_view text, std::uint64_t seed, token_hashes& out) noexcept {
  out.size = 0;
  out.seed = seed;
  while (!text.empty() && out.size < feature_tokens::capacity) {
    const std::size_t space = text.find(' ');
    const std::string_view item = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (item.size() < 3 || item[1] != '=') continue;
    out.key[out.size] = item[0];
    out.hash[out.size] = text_hash(item, seed);
    out.plain[out.size] = item[0] == 'g' && item.size() >= 5 && item[item.size() - 2] == ':'
                              ? text_hash(item.substr(0, item.size() - 2), seed)
                              : 0;
    ++out.size;
  }
}

void hash_features(const token_hashes& tokens, std::uint64_t campaign,
                   hashed_features& out) noexcept {
  out.size = 0;
  auto push = [&](std::uint64_t h) {
    if (out.size < out.items.size()) out.items[out.size++] = h;
  };
  const std::uint64_t bias = hash64("bias", tokens.seed);
  push(bias);
  push(cross(campaign, bias));
  std::uint64_t site = 0, device = 0, slot = 0;
  for (std::size_t i = 0; i < tokens.size; ++i) {
    const std::uint64_t h = tokens.hash[i];
    push(h);
    push(cross(campaign, h));
    if (tokens.plain[i] != 0) {
      push(tokens.plain[i]);
      push(cross(campaign, tokens.plain[i]));
    }
    const char key = tokens.key[i];
    if ((key == 's' || key == 'a') && site == 0) site = h;
    if (key == 'd' && device == 0) device = h;
    if (key == 'f' && slot == 0) slot = h;
  }
  if (site != 0 && device != 0) push(cross(site, device));
  if (site != 0 && slot != 0) push(cross(site, slot));
}

void hash_features(const feature_tokens& tokens, std::uint64_t campaign, std::uint64_t seed,
                   hashed_features& out) noexcept {
  token_hashes hashes;
  hash_tokens(tokens, seed, hashes);
  hash_features(hashes, campaign, out);
}

void hash_features(std::string_view text, std::uint64_t campaign, std::uint64_t seed,
                   hashed_features& out) noexcept {
  token_hashes hashes;
  hash_tokens(text, seed, hashes);
  hash_features(hashes, campaign, out);
}

}  // namespace bidder::learning
