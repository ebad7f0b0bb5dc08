#include "bidder/notice/notice_url.hpp"

#include <charconv>
#include <cmath>

#include "bidder/core/codec.hpp"

namespace bidder::notice {
namespace {

void append_int(std::string& out, std::int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

std::int64_t parse_int(std::string_view text) noexcept {
  std::int64_t value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return -1;
  return value;
}

}  // namespace

std::string_view to_string(notice_kind kind) noexcept {
  switch (kind) {
    case notice_kind::win:
      return "win";
    case notice_kind::bill:
      return "bill";
    case notice_kind::loss:
      return "loss";
    case notice_kind::click:
      return "click";
    case notice_kind::count_:
      break;
  }
  return "unknown";
}

std::optional<notice_kind> kind_from_path(std::string_view path) noexcept {
  if (path == "/notice/win") return notice_kind::win;
  if (path == "/notice/bill") return notice_kind::bill;
  if (path == "/notice/loss") return notice_kind::loss;
  if (path == "/click") return notice_kind::click;
  return std::nullopt;
}

void append_notice_url(std::string& out, std::string_view base, notice_kind kind,
                       const bid_identity& id, std::string_view signature) {
  out += base;
  switch (kind) {
    case notice_kind::win:
      out += "/notice/win";
      break;
    case notice_kind::bill:
      out += "/notice/bill";
      break;
    case notice_kind::loss:
      out += "/notice/loss";
      break;
    case notice_kind::click:
    case notice_kind::count_:
      out += "/click";
      break;
  }
  out += "?auction=${AUCTION_ID}&imp=${AUCTION_IMP_ID}&bid=";
  out += id.bid_id;
  out += "&campaign=";
  out += id.campaign_id;
  out += "&creative=";
  out += id.creative_id;
  out += "&bp=";
  append_int(out, id.price_micros);
  out += "&cur=";
  append_percent_encoded(out, id.currency);
  out += "&t=";
  append_int(out, id.issued_at);
  if (!id.users.empty()) {
    out += "&u=";
    append_percent_encoded(out, id.users);
  }
  out += "&x=";
  append_percent_encoded(out, id.exchange);
  out += "&k=";
  append_percent_encoded(out, id.key_id);
  if (!id.shading.empty()) {
    out += "&s=";
    append_percent_encoded(out, id.shading);
  }
  switch (kind) {
    case notice_kind::win:
    case notice_kind::bill:
      out += "&price=${AUCTION_PRICE}";
      break;
    case notice_kind::loss:
      out += "&price=${AUCTION_PRICE}&reason=${AUCTION_LOSS}&min=${AUCTION_MIN_TO_WIN}";
      break;
    case notice_kind::click:
    case notice_kind::count_:
      break;
  }
  out += "&sig=";
  out += signature;
}

std::optional<money> parse_price(std::string_view text) noexcept {
  if (text.empty() || text.size() > 32) return std::nullopt;
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value) || value < 0 || value > 1e9) return std::nullopt;
  return money::from_units(value);
}

bool looks_encrypted(std::string_view text) noexcept {
  if (text.size() < min_encrypted_price_chars || text.size() > 128) return false;
  bool letter = false;
  for (char c : text) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    letter = letter || alpha;
    if (!alpha && !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '+' && c != '/' &&
        c != '=') {
      return false;
    }
  }
  return letter;
}

result<parsed_notice> notice_parser::parse(notice_kind kind, std::string_view query) {
  if (query.size() > max_query_bytes) {
    return make_error(errc::too_large,
                      "query string over " + std::to_string(max_query_bytes) + " bytes");
  }
  decoded_.clear();
  decoded_.reserve(max_query_bytes);  // views into it must not move
  parsed_notice out;
  out.id.purpose = static_cast<std::uint8_t>(kind);  // a signature is for one kind of URL
  out.id.price_micros = -1;
  out.id.issued_at = -1;
  std::string_view price_text, min_text;
  bool has_price = false, has_min = false;
  // Each parameter once: "campaign=a&campaign=b" must not let one copy verify and the other
  // be acted on.
  std::uint32_t seen = 0;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    const std::size_t start = decoded_.size();
    // A malformed escape is kept as written: the value then fails verification rather than
    // being guessed at. '+' stays '+' (RFC 3986 queries).
    append_percent_decoded(decoded_, raw, /*plus_is_space=*/false, bad_escape::keep);
    const std::string_view value(decoded_.data() + start, decoded_.size() - start);
    struct field {
      std::string_view name;
      std::uint32_t bit;
    };
    static constexpr field fields[] = {
        {"auction", 1},   {"imp", 2},   {"bid", 4},      {"campaign", 8},
        {"creative", 16}, {"bp", 32},   {"cur", 64},     {"t", 128},
        {"u", 256},       {"sig", 512}, {"price", 1024}, {"reason", 2048},
        {"min", 4096},    {"x", 8192},  {"k", 16384},    {"s", 32768}};
    std::uint32_t bit = 0;
    for (const field& f : fields) {
      if (f.name == name) bit = f.bit;
    }
    if (bit == 0) continue;  // exchanges may append their own parameters
    if ((seen & bit) != 0) {
      return make_error(errc::invalid_field, std::string(name) + ": given twice");
    }
    seen |= bit;
    switch (bit) {
      case 1:
        out.id.request_id = value;
        break;
      case 2:
        out.id.imp_id = value;
        break;
      case 4:
        out.id.bid_id = value;
        break;
      case 8:
        out.id.campaign_id = value;
        break;
      case 16:
        out.id.creative_id = value;
        break;
      case 32:
        out.id.price_micros = parse_int(value);
        break;
      case 64:
        out.id.currency = value;
        break;
      case 128:
        out.id.issued_at = parse_int(value);
        break;
      case 256:
        out.id.users = value;
        break;
      case 512:
        out.signature = value;
        break;
      case 1024:
        price_text = value;
        has_price = true;
        break;
      case 2048:
        out.loss_reason = value;
        break;
      case 4096:
        min_text = value;
        has_min = true;
        break;
      case 8192:
        out.id.exchange = value;
        break;
      case 16384:
        out.id.key_id = value;
        break;
      case 32768:
        out.id.shading = value;
        break;
      default:
        break;
    }
  }
  const bool unsubstituted_price = price_text.starts_with("${");
  switch (kind) {
    case notice_kind::win:
    case notice_kind::bill:
      if (!has_price) return make_error(errc::invalid_field, "price: missing");
      if (unsubstituted_price) {
        return make_error(errc::invalid_field, "price: ${AUCTION_PRICE} was not substituted");
      }
      out.clearing_price = parse_price(price_text);
      if (!out.clearing_price && looks_encrypted(price_text)) {
        out.price_encrypted = true;  // the processor charges the signed bid price instead
        break;
      }
      if (!out.clearing_price) {
        return make_error(errc::invalid_field,
                          "price: \"" + std::string(price_text) +
                              "\" is not a clearing price (a decimal CPM >= 0)");
      }
      break;
    case notice_kind::loss:
      // Exchanges often leave the outcome macros of a loss unsubstituted or empty.
      if (has_price && !unsubstituted_price) out.clearing_price = parse_price(price_text);
      if (out.loss_reason.starts_with("${")) out.loss_reason = {};
      if (has_min && !min_text.starts_with("${")) out.min_to_win = parse_price(min_text);
      break;
    case notice_kind::click:
    case notice_kind::count_:
      break;
  }
  return out;
}

std::size_t read_user_hashes(std::string_view users, std::span<std::uint64_t> out) noexcept {
  std::size_t n = 0;
  while (!users.empty() && n < out.size()) {
    const std::size_t dot = users.find('.');
    const std::string_view item = users.substr(0, dot);
    users = dot == std::string_view::npos ? std::string_view() : users.substr(dot + 1);
    if (item.size() != 16) continue;
    std::uint64_t v = 0;
    bool ok = true;
    for (char c : item) {
      const int d = hex_value(c);
      ok = ok && d >= 0;
      v = (v << 4) | static_cast<std::uint64_t>(d < 0 ? 0 : d);
    }
    if (ok) out[n++] = v;
  }
  return n;
}

}  // namespace bidder::notice
