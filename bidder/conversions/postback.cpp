#include "bidder/conversions/postback.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <string>

#include "bidder/audience/file_format.hpp"
#include "bidder/openrtb/normalize.hpp"

namespace bidder::conversions {
namespace {

namespace json = boost::json;

constexpr std::size_t max_id_bytes = 256;

error invalid(std::string_view field, std::string_view what) {
  return make_error(errc::invalid_field, std::string(field) + ": " + std::string(what));
}

// A non-empty string of at most max_id_bytes without control characters.
result<std::string> read_id(const json::value& v, std::string_view field) {
  if (!v.is_string()) return invalid(field, "expected a string");
  const json::string& s = v.get_string();
  if (s.empty()) return invalid(field, "empty");
  if (s.size() > max_id_bytes) {
    return invalid(field, "longer than " + std::to_string(max_id_bytes) + " bytes");
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalid(field, "control character");
    }
  }
  return std::string(s);
}

bool iso_currency(std::string_view c) {
  if (c.size() != 3) return false;
  for (char ch : c) {
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))) return false;
  }
  return true;
}

}  // namespace

result<conversion> parse_conversion(std::string_view line, unix_seconds now) {
  if (line.size() > max_postback_line_bytes) {
    return make_error(errc::too_large,
                      "line longer than " + std::to_string(max_postback_line_bytes) + " bytes");
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(line, ec);
  if (ec) return make_error(errc::malformed_request, "not JSON: " + ec.message());
  if (!parsed.is_object()) return make_error(errc::malformed_request, "not a JSON object");
  const json::object& o = parsed.get_object();

  conversion c;
  c.at = now;
  bool has_value = false;
  for (const auto& [key, v] : o) {
    if (key == "conversion_id") {
      auto id = read_id(v, key);
      if (!id) return id.error();
      c.conversion_id = std::move(*id);
    } else if (key == "value") {
      if (!v.is_number()) return invalid(key, "expected a number");
      const double value = v.to_number<double>();
      if (!std::isfinite(value)) return invalid(key, "not a finite number");
      if (value < 0) return invalid(key, "negative");
      if (value > 1e12) return invalid(key, "too large");
      c.value = money::from_units(value);
      has_value = value > 0;
    } else if (key == "currency") {
      if (!v.is_string() || !iso_currency(v.get_string())) {
        return invalid(key, "expected a 3-letter ISO 4217 code, e.g. EUR");
      }
      c.currency = openrtb::canonical_code(v.get_string());
    } else if (key == "time") {
      std::string text;
      if (v.is_int64() || v.is_uint64()) {
        text = std::to_string(v.is_int64() ? v.get_int64()
                                           : static_cast<std::int64_t>(v.get_uint64()));
      } else if (v.is_string()) {
        text = v.get_string();
      } else {
        return invalid(key, "expected UNIX seconds or an ISO 8601 time");
      }
      auto at = audience::parse_time(text);
      if (!at) return invalid(key, at.error().message);
      if (*at > now + 86400) return invalid(key, "more than a day in the future");
      c.at = *at;
    } else if (key == "click_id" || key == "bid_id") {
      auto id = read_id(v, key);
      if (!id) return id.error();
      (key == "click_id" ? c.click_id : c.bid_id) = std::move(*id);
    } else if (key == "user_ids") {
      if (!v.is_array()) return invalid(key, "expected an array of ids");
      const json::array& ids = v.get_array();
      if (ids.size() > max_user_ids) {
        return invalid(key, "more than " + std::to_string(max_user_ids) + " ids");
      }
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string field = "user_ids[" + std::to_string(i) + "]";
        if (!ids[i].is_string()) return invalid(field, "expected a string");
        auto user_key = audience::id_to_key(ids[i].get_string());
        if (!user_key) return invalid(field, user_key.error().message);
        c.user_keys.push_back(std::move(*user_key));
      }
    } else if (key == "campaign_id") {
      auto id = read_id(v, key);
      if (!id) return id.error();
      c.campaign_id = std::move(*id);
    } else if (key == "advertiser") {
      auto id = read_id(v, key);
      if (!id) return id.error();
      c.advertiser = openrtb::canonical_domain(*id);
    } else {
      return invalid(key, "unknown field");
    }
  }
  if (c.conversion_id.empty()) {
    return make_error(errc::missing_field, "conversion_id: missing");
  }
  if (has_value && c.currency.empty()) return invalid("currency", "missing for a value");
  if (c.click_id.empty() && c.bid_id.empty() && c.user_keys.empty()) {
    return make_error(errc::missing_field,
                      "click_id, bid_id, user_ids: none given (nothing links it to an ad)");
  }
  if (c.campaign_id.empty() && c.advertiser.empty()) {
    return make_error(errc::missing_field, "campaign_id, advertiser: neither given");
  }
  return c;
}

batch_result parse_postback(std::string_view body, unix_seconds now,
                            const conversion_handler& on_conversion, std::size_t max_reported) {
  batch_result out;
  std::size_t number = 0;
  while (!body.empty()) {
    const std::size_t newline = body.find('\n');
    std::string_view line = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto parsed = parse_conversion(line, now);
    std::optional<std::string> refusal;
    if (!parsed) {
      refusal = std::move(parsed.error().message);
    } else {
      refusal = on_conversion(std::move(*parsed), number);
    }
    if (refusal) {
      ++out.refused;
      if (out.problems.size() < max_reported) out.problems.push_back({number, std::move(*refusal)});
      continue;
    }
    ++out.accepted;
  }
  return out;
}

}  // namespace bidder::conversions
