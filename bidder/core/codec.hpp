// File: bidder/core/codec.hpp
//
// The small byte codecs several components share, in one place: LEB128 varints (the audience
// store's values, the notice signer's message, protobuf), hex digits, and percent-encoding
// (RFC 3986: notice URLs, the audience CLI's URLs, the admin API's paths and queries).
// Header-only and allocation-free beyond appending to the caller's string.
//
//   std::string out;
//   bidder::put_varint(out, 300);                      // "\xAC\x02"
//   std::string_view in = out; std::uint64_t v;
//   bidder::get_varint(in, v);                         // v == 300, in consumed
//   bidder::append_percent_encoded(out, "a b/c");      // "a%20b%2Fc"
//   std::string cell = bidder::html_escaped("<b>&");   // "&lt;b&gt;&amp;"
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bidder {

// ---- varints (LEB128: 7 bits a byte, the high bit set on all but the last) ------------------

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// Reads one varint from the front of `in` (consuming it); false when `in` ends first or the
/// varint runs past 64 bits.
inline bool get_varint(std::string_view& in, std::uint64_t& v) noexcept {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// ---- hex ------------------------------------------------------------------------------------

inline constexpr char hex_digits_lower[] = "0123456789abcdef";
inline constexpr char hex_digits_upper[] = "0123456789ABCDEF";

/// The value of a hex digit (either case), or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Appends the `digits` lowest hex digits of `v` (lower case), most significant first.
inline void append_hex(std::string& out, std::uint64_t v, int digits) {
  char buffer[16];
  for (int i = digits - 1; i >= 0; --i) {
    buffer[i] = hex_digits_lower[v & 0xF];
    v >>= 4;
  }
  out.append(buffer, static_cast<std::size_t>(digits));
}

// ---- percent-encoding (RFC 3986) --------------------------------------------------------------

/// RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
constexpr bool url_unreserved(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

/// Appends `in` with every byte but the unreserved ones, and those in `also_keep`, written as
/// %XX (upper-case hex, as section 2.1 recommends).
inline void append_percent_encoded(std::string& out, std::string_view in,
                                   std::string_view also_keep = {}) {
  // Appends runs of kept bytes at once: notice URLs encode ids and hashes that are all kept, and
  // a per-byte append checks the capacity each time.
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t run = i;
    while (run < in.size() &&
           (url_unreserved(in[run]) || also_keep.find(in[run]) != std::string_view::npos)) {
      ++run;
    }
    out.append(in.data() + i, run - i);
    if (run == in.size()) break;
    const auto u = static_cast<unsigned char>(in[run]);
    const char escaped[3] = {'%', hex_digits_upper[u >> 4], hex_digits_upper[u & 15]};
    out.append(escaped, 3);
    i = run + 1;
  }
}

/// What append_percent_decoded does with a '%' not followed by two hex digits.
enum class bad_escape : std::uint8_t {
  fail,  // stop and return false (a path or query we refuse)
  keep,  // copy it as written (a signed value then fails its verification, not guessed at)
};

/// Appends the percent-decoded `in` to `out`; '+' becomes ' ' when `plus_is_space`
/// (application/x-www-form-urlencoded) and stays '+' otherwise (RFC 3986). False only for a bad
/// escape under bad_escape::fail (`out` then holds what came before it).
inline bool append_percent_decoded(std::string& out, std::string_view in, bool plus_is_space,
                                   bad_escape on_bad) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
      if (lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
      if (on_bad == bad_escape::fail) return false;
      out += c;
    } else {
      out += plus_is_space && c == '+' ? ' ' : c;
    }
  }
  return true;
}

// ---- HTML text ---------------------------------------------------------------------------------

/// `text` with <, >, & and " escaped, safe inside an HTML element or a quoted attribute (the
/// bench reports' HTML forms).
inline std::string html_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace bidder
