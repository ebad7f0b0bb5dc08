#include "bench/load/http_response_reader.hpp"

#include <cstdint>

#include "bidder/core/codec.hpp"

namespace bidder::bench {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// True when the comma-separated header value lists `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool parse_decimal(std::string_view text, std::size_t& out) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.size() > 12) return false;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  out = value;
  return true;
}

// Walks the chunks that start at `pos`; on success sets `end` past the final CRLF.
parse_state parse_chunked(std::string_view data, std::size_t pos, std::size_t& end) {
  std::size_t body = 0;
  for (;;) {
    const std::size_t line_end = data.find("\r\n", pos);
    if (line_end == std::string_view::npos) {
      return data.size() - pos > 1024 ? parse_state::malformed : parse_state::incomplete;
    }
    std::size_t size = 0;
    std::size_t digits = 0;
    for (std::size_t i = pos; i < line_end && data[i] != ';'; ++i) {
      const int d = hex_value(data[i]);
      if (d < 0) {
        if (data[i] == ' ' || data[i] == '\t') continue;
        return parse_state::malformed;
      }
      if (++digits > 8) return parse_state::malformed;
      size = size * 16 + static_cast<std::size_t>(d);
    }
    if (digits == 0) return parse_state::malformed;
    pos = line_end + 2;
    if (size == 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        const std::size_t trailer_end = data.find("\r\n", pos);
        if (trailer_end == std::string_view::npos) return parse_state::incomplete;
        const bool empty = trailer_end == pos;
        pos = trailer_end + 2;
        if (empty) {
          end = pos;
          return parse_state::complete;
        }
      }
    }
    body += size;
    if (body > max_response_body_bytes) return parse_state::malformed;
    if (data.size() < pos + size + 2) return parse_state::incomplete;
    if (data.substr(pos + size, 2) != "\r\n") return parse_state::malformed;
    pos += size + 2;
  }
}

}  // namespace

parse_state parse_response(std::string_view data, parsed_response& out) noexcept {
  out = parsed_response{};
  const std::size_t header_end = data.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    if (data.size() > max_response_header_bytes) return parse_state::malformed;
    // Fail fast on a stream that is not HTTP at all.
    const std::string_view prefix = "HTTP/1.";
    const std::size_t n = data.size() < prefix.size() ? data.size() : prefix.size();
    return data.substr(0, n) == prefix.substr(0, n) ? parse_state::incomplete
                                                    : parse_state::malformed;
  }
  if (header_end > max_response_header_bytes) return parse_state::malformed;
  // Status line: HTTP/1.x SP 3DIGIT SP reason
  if (data.size() < 12 || data.substr(0, 7) != "HTTP/1." || data[8] != ' ') {
    return parse_state::malformed;
  }
  const bool http10 = data[7] == '0';
  unsigned status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (data[i] < '0' || data[i] > '9') return parse_state::malformed;
    status = status * 10 + static_cast<unsigned>(data[i] - '0');
  }
  out.status = status;
  out.keep_alive = !http10;

  bool chunked = false;
  bool has_length = false;
  std::size_t length = 0;
  std::size_t pos = data.find("\r\n") + 2;
  while (pos < header_end + 2) {
    const std::size_t line_end = data.find("\r\n", pos);
    const std::string_view line = data.substr(pos, line_end - pos);
    pos = line_end + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return parse_state::malformed;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 1);
    if (iequals(name, "content-length")) {
      if (!parse_decimal(value, length)) return parse_state::malformed;
      has_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      chunked = has_token(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (has_token(value, "close")) out.keep_alive = false;
      if (has_token(value, "keep-alive")) out.keep_alive = true;
    }
  }
  const std::size_t body_start = header_end + 4;
  // RFC 9112 section 6.3: these never have a body, whatever the headers say.
  if ((status >= 100 && status < 200) || status == 204 || status == 304) {
    out.size = body_start;
    return parse_state::complete;
  }
  if (chunked) {
    std::size_t end = 0;
    const parse_state state = parse_chunked(data, body_start, end);
    if (state == parse_state::complete) out.size = end;
    return state;
  }
  if (has_length) {
    if (length > max_response_body_bytes) return parse_state::malformed;
    if (data.size() < body_start + length) return parse_state::incomplete;
    out.size = body_start + length;
    return parse_state::complete;
  }
  out.until_close = true;
  out.keep_alive = false;
  if (data.size() - body_start > max_response_body_bytes) return parse_state::malformed;
  return parse_state::incomplete;
}

}  // namespace bidder::bench
