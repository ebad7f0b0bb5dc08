#include "bidder/learning/model_file.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bidder/core/atomic_file.hpp"

namespace bidder::learning {
namespace {

static_assert(std::endian::native == std::endian::little, "model files are little-endian");

constexpr std::string_view magic = "BIDLRN\r\n";
// Bounds that keep a hostile file from asking for absurd allocations.
constexpr std::uint32_t max_summary_bytes = 1 << 20;
constexpr std::uint32_t max_segments = 100000;
constexpr std::uint32_t max_segment_bytes = 1024;

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_text(std::string& out, std::string_view text) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}

// Reads the file's fields in order; the first failure sticks and names what was being read.
class reader {
 public:
  explicit reader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  bool get(T& value, const char* what) {
    if (bytes_.size() - at_ < sizeof(T)) return fail(what);
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool get_text(std::string& text, std::uint32_t limit, const char* what) {
    std::uint32_t size = 0;
    if (!get(size, what)) return false;
    if (size > limit || bytes_.size() - at_ < size) return fail(what);
    text.assign(bytes_.data() + at_, size);
    at_ += size;
    return true;
  }
  bool get_floats(std::vector<float>& out, std::size_t count, const char* what) {
    if ((bytes_.size() - at_) / sizeof(float) < count) return fail(what);
    out.resize(count);
    if (count != 0) std::memcpy(out.data(), bytes_.data() + at_, count * sizeof(float));
    at_ += count * sizeof(float);
    return true;
  }
  std::size_t at() const noexcept { return at_; }
  const char* failed() const noexcept { return failed_; }

 private:
  bool fail(const char* what) {
    if (failed_ == nullptr) failed_ = what;
    return false;
  }
  std::string_view bytes_;
  std::size_t at_ = 0;
  const char* failed_ = nullptr;
};

}  // namespace

std::string_view to_string(model_target t) noexcept {
  switch (t) {
    case model_target::click:
      return "click";
    case model_target::conversion:
      return "conversion";
  }
  return "unknown";
}

std::string serialize_model(const model& m) {
  std::string out;
  out.reserve(256 + m.summary.size() + m.weights.size() * sizeof(float));
  out.append(magic);
  put<std::uint32_t>(out, model_format_version);
  put<std::uint32_t>(out, feature_version);
  put<std::uint32_t>(out, m.bits);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(m.target));
  put<std::uint64_t>(out, m.seed);
  put<std::uint64_t>(out, m.examples);
  put<std::int64_t>(out, m.trained_at);
  put_text(out, m.summary);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(m.segments.size()));
  for (const std::string& s : m.segments) put_text(out, s);
  out.append(reinterpret_cast<const char*>(m.weights.data()), m.weights.size() * sizeof(float));
  put<std::uint64_t>(out, hash64(out, 0x6d6f64656cULL));
  return out;
}

result<model> parse_model(std::string_view bytes, std::string_view name) {
  auto refuse = [&](std::string_view why) {
    return make_error(errc::invalid_config, std::string(name) + ": " + std::string(why));
  };
  if (bytes.size() < magic.size() || bytes.substr(0, magic.size()) != magic) {
    return refuse("not a bidder model file (bad magic bytes)");
  }
  if (bytes.size() < magic.size() + 8) return refuse("cut short in the header");
  // The checksum first: a damaged file's fields cannot be trusted to explain themselves.
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - sizeof stored, sizeof stored);
  const std::string_view body = bytes.substr(0, bytes.size() - sizeof stored);
  reader in(body.substr(magic.size()));
  model m;
  std::uint32_t format = 0, features = 0, target = 0;
  in.get(format, "the format version");
  if (in.failed() == nullptr && format != model_format_version) {
    return refuse("model file format " + std::to_string(format) + ", this bidder reads " +
                  std::to_string(model_format_version));
  }
  if (hash64(body, 0x6d6f64656cULL) != stored) {
    return refuse("checksum mismatch: the file is damaged or was cut short");
  }
  in.get(features, "the feature version");
  if (in.failed() == nullptr && features != feature_version) {
    return refuse("trained on feature version " + std::to_string(features) +
                  ", this bidder extracts version " + std::to_string(feature_version) +
                  ": train the model again");
  }
  in.get(m.bits, "the table bits");
  if (in.failed() == nullptr && (m.bits < min_table_bits || m.bits > max_table_bits)) {
    return refuse("table bits " + std::to_string(m.bits) + " outside " +
                  std::to_string(min_table_bits) + " to " + std::to_string(max_table_bits));
  }
  in.get(target, "the target");
  if (in.failed() == nullptr && target != 1 && target != 2) {
    return refuse("unknown target " + std::to_string(target));
  }
  m.target = static_cast<model_target>(target);
  in.get(m.seed, "the hash seed");
  in.get(m.examples, "the example count");
  in.get(m.trained_at, "the training time");
  in.get_text(m.summary, max_summary_bytes, "the summary");
  std::uint32_t segments = 0;
  in.get(segments, "the segment count");
  if (in.failed() == nullptr && segments > max_segments) return refuse("too many segments");
  for (std::uint32_t i = 0; i < segments && in.failed() == nullptr; ++i) {
    in.get_text(m.segments.emplace_back(), max_segment_bytes, "a segment name");
  }
  if (in.failed() == nullptr) in.get_floats(m.weights, std::size_t{1} << m.bits, "the weights");
  if (in.failed() != nullptr) return refuse(std::string("cut short reading ") + in.failed());
  if (magic.size() + in.at() != body.size()) return refuse("unexpected bytes after the weights");
  for (float w : m.weights) {
    if (!std::isfinite(w)) return refuse("a weight is not a finite number");
  }
  return m;
}

result<model> read_model_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(errc::io_error, path + ": cannot open: " + ec.message());
  // The largest file the format allows (a 2^26 table, every other part at its limit).
  constexpr std::uintmax_t largest = 64 + max_summary_bytes +
                                     std::uintmax_t{max_segments} * (4 + max_segment_bytes) +
                                     (std::uintmax_t{4} << max_table_bits) + 8;
  if (size > largest) {
    return make_error(errc::invalid_config, path + ": larger than any model file can be");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return make_error(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::size_t>(file.gcount()) != bytes.size()) {
    return make_error(errc::io_error, path + ": read error (the file changed while read?)");
  }
  return parse_model(bytes, path);
}

result<void> write_model_file(const model& m, const std::string& path) {
  // What the reader would refuse is not written.
  if (m.summary.size() > max_summary_bytes || m.segments.size() > max_segments ||
      std::any_of(m.segments.begin(), m.segments.end(),
                  [](const std::string& s) { return s.size() > max_segment_bytes; }) ||
      m.bits < min_table_bits || m.bits > max_table_bits ||
      m.weights.size() != (std::size_t{1} << m.bits)) {
    return make_error(errc::invalid_field,
                      path +
                          ": the model exceeds the file format's limits (summary, segments "
                          "or table size)");
  }
  return replace_file_atomically(path, serialize_model(m));
}

}  // namespace bidder::learning
