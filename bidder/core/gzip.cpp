#include "bidder/core/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace bidder {

result<void> gunzip_each(std::string_view in, std::size_t limit,
                         const std::function<void(std::string_view)>& sink) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {  // 16+: gzip wrapper only
    return make_error(errc::bad_encoding, "gzip: cannot initialise zlib");
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::size_t total = 0;
  int rc = Z_OK;
  char chunk[16384];
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return make_error(errc::bad_encoding,
                        rc == Z_BUF_ERROR ? "gzip body is truncated" : "gzip body is corrupt");
    }
    const std::size_t produced = sizeof chunk - z.avail_out;
    total += produced;
    if (total > limit) {
      inflateEnd(&z);
      return make_error(errc::too_large, "body too large once decompressed");
    }
    if (produced > 0) sink(std::string_view(chunk, produced));
    if (rc == Z_OK && z.avail_in == 0 && produced == 0) {
      inflateEnd(&z);
      return make_error(errc::bad_encoding, "gzip body is truncated");
    }
  }
  const bool trailing = z.avail_in != 0;
  inflateEnd(&z);
  if (trailing) return make_error(errc::bad_encoding, "gzip body has trailing bytes");
  return {};
}

result<void> gunzip(std::string_view in, std::size_t limit, std::string& out) {
  out.clear();
  return gunzip_each(in, limit, [&](std::string_view chunk) { out.append(chunk); });
}

void gzip(std::string_view in, std::string& out) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  out.resize(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
}

bool accepts_gzip(std::string_view value) noexcept {
  // Tokens are comma separated, each optionally with ";q=..."; q=0 means "not acceptable".
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view token = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    std::string_view params;
    if (auto semi = token.find(';'); semi != std::string_view::npos) {
      params = token.substr(semi + 1);
      token = token.substr(0, semi);
    }
    auto trim = [](std::string_view s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
      return s;
    };
    token = trim(token);
    params = trim(params);
    if (token.size() == 4 && std::equal(token.begin(), token.end(), "gzip", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      if (params.starts_with("q=0") && params.find_first_not_of("q=0.") == std::string_view::npos) {
        return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace bidder
