#include "bidder/core/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <new>
#include <optional>

namespace bidder {

struct gunzip_stream::state {
  z_stream z{};
  bool initialised = false;
  bool ended = false;  // the gzip member's end (and trailer) was read
  std::size_t limit = 0;
  std::size_t total = 0;
  std::optional<error> failure;
  char out[gunzip_stream::piece_bytes];  // one inflate step's output, handed on before the next
};

gunzip_stream::gunzip_stream(std::size_t limit) : state_(std::make_unique<state>()) {
  state_->limit = limit;
  state_->initialised = inflateInit2(&state_->z, 16 + MAX_WBITS) == Z_OK;  // 16+: gzip only
  if (!state_->initialised) {
    state_->failure = error{errc::bad_encoding, "gzip: cannot initialise zlib"};
  }
}

gunzip_stream::~gunzip_stream() {
  if (state_->initialised) inflateEnd(&state_->z);
}

std::size_t gunzip_stream::produced() const noexcept { return state_->total; }

result<void> gunzip_stream::feed(std::string_view in,
                                 const std::function<void(std::string_view)>& sink) {
  state& st = *state_;
  if (st.failure) return *st.failure;
  auto fail = [&](errc code, std::string message) -> result<void> {
    st.failure = error{code, std::move(message)};
    return *st.failure;
  };
  if (st.ended) {
    if (in.empty()) return {};
    return fail(errc::bad_encoding, "gzip body has trailing bytes");
  }
  z_stream& z = st.z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(st.out);
    z.avail_out = sizeof st.out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      return fail(errc::bad_encoding, "gzip body is corrupt");
    }
    const std::size_t produced = sizeof st.out - z.avail_out;
    st.total += produced;
    if (st.total > st.limit) return fail(errc::too_large, "body too large once decompressed");
    if (produced > 0) sink(std::string_view(st.out, produced));
    if (rc == Z_STREAM_END) {
      st.ended = true;
      if (z.avail_in != 0) return fail(errc::bad_encoding, "gzip body has trailing bytes");
      return {};
    }
    // Z_BUF_ERROR, or Z_OK with room left over: zlib needs more input than this piece had.
    if (z.avail_in == 0 && (rc == Z_BUF_ERROR || z.avail_out != 0)) return {};
  }
}

result<void> gunzip_stream::finish() {
  state& st = *state_;
  if (st.failure) return *st.failure;
  if (!st.ended) {
    st.failure = error{errc::bad_encoding, "gzip body is truncated"};
    return *st.failure;
  }
  return {};
}

result<void> gunzip_each(std::string_view in, std::size_t limit,
                         const std::function<void(std::string_view)>& sink) {
  gunzip_stream stream(limit);
  if (auto r = stream.feed(in, sink); !r) return r;
  return stream.finish();
}

result<void> gunzip(std::string_view in, std::size_t limit, std::string& out) {
  out.clear();
  return gunzip_each(in, limit, [&](std::string_view chunk) { out.append(chunk); });
}

void gzip(std::string_view in, std::string& out) {
  z_stream z{};
  // With these arguments only a failed allocation can make it fail.
  if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();
  }
  // zlib's buffers are freed on every way out, the resize below throwing included.
  struct end_deflate {
    z_stream& z;
    ~end_deflate() { deflateEnd(&z); }
  } guard{z};
  out.resize(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
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
