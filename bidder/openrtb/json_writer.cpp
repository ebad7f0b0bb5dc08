#include "bidder/openrtb/json_writer.hpp"

#include <charconv>
#include <cmath>

#include "bidder/core/json_text.hpp"

namespace bidder::openrtb {
namespace {

void append_number(std::string& out, double value) {
  if (!std::isfinite(value)) {  // JSON has no NaN or Infinity; the engine never makes one
    out += '0';
    return;
  }
  char buffer[32];
  // Prices are CPMs with at most micro precision; "%.6g"-like shortest form keeps them exact.
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) {
    out += '0';
    return;
  }
  out.append(buffer, end);
}

void append_int(std::string& out, long long value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

void append_string_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ',';
  append_key(out, key);
  append_json_string(out, value);
}

// For text known to need no escaping (bid::urls_json_safe).
void append_plain_string_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ',';
  append_key(out, key);
  out += '"';
  out += value;
  out += '"';
}

void append_string_array(std::string& out, std::string_view key,
                         std::span<const std::string> values) {
  if (values.empty()) return;
  out += ',';
  append_key(out, key);
  out += '[';
  bool first = true;
  for (const std::string& v : values) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, v);
  }
  out += ']';
}

}  // namespace

void write_json_response(const bid_response& response, std::string& out) {
  out.clear();
  out += "{\"id\":";
  append_json_string(out, response.id);
  out += ",\"seatbid\":[{\"bid\":[";
  bool first = true;
  for (const bid& b : response.bids) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":";
    append_json_string(out, b.id);
    out += ",\"impid\":";
    append_json_string(out, b.imp_id);
    out += ",\"price\":";
    append_number(out, b.price);
    append_string_field(out, "adid", b.adid);
    append_string_field(out, "crid", b.crid);
    append_string_field(out, "cid", b.cid);
    if (b.adm_json_parts.empty()) {
      append_string_field(out, "adm", b.adm);
    } else if (!b.adm.empty()) {
      out += ",\"adm\":\"";
      for (std::size_t i = 0; i < b.adm_json_parts.size(); ++i) {
        if (i > 0 && b.urls_json_safe) {
          out += b.adm_json_joiner;
        } else if (i > 0) {
          append_json_escaped(out, b.adm_json_joiner);
        }
        out += b.adm_json_parts[i];
      }
      out += '"';
    }
    append_string_field(out, "dealid", b.dealid);
    append_string_field(out, "bundle", b.bundle);
    const auto append_url = b.urls_json_safe ? append_plain_string_field : append_string_field;
    append_url(out, "nurl", b.nurl);
    append_url(out, "burl", b.burl);
    append_url(out, "lurl", b.lurl);
    append_string_array(out, "adomain", b.adomain);
    append_string_array(out, "cat", b.cat);
    if (b.w > 0 && b.h > 0) {
      out += ",\"w\":";
      append_int(out, b.w);
      out += ",\"h\":";
      append_int(out, b.h);
    }
    out += ",\"mtype\":";
    append_int(out, static_cast<int>(b.mtype));
    out += '}';
  }
  out += ']';
  if (!response.seat.empty()) {
    out += ',';
    append_key(out, "seat");
    append_json_string(out, response.seat);
  }
  out += "}]";
  append_string_field(out, "cur", response.cur);
  out += '}';
}

}  // namespace bidder::openrtb
