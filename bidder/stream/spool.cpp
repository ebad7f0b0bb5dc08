#include "bidder/stream/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "bidder/events/log_file_name.hpp"

namespace bidder::stream {
namespace {

// Bytes read with one pread. Event lines are at most a few KiB (a 768-byte queue slot, escaped),
// so a chunk holds many; a "line" longer than a chunk is damage and is skipped.
constexpr std::size_t chunk_bytes = 256 * 1024;

}  // namespace

std::string event_id(std::string_view source, std::string_view file, std::uint64_t offset) {
  std::string id;
  id.reserve(source.size() + file.size() + 22);
  id.append(source).append("/").append(file).append(":").append(std::to_string(offset));
  return id;
}

std::string spool_batch::id(std::size_t i, std::string_view source) const {
  return event_id(source, files[lines[i].file], lines[i].offset);
}

bool is_spool_file_name(std::string_view name) noexcept {
  return events::parse_log_file_name(name).has_value();
}

bool spool_file_before(std::string_view a, std::string_view b) noexcept {
  const auto first = events::parse_log_file_name(a), second = events::parse_log_file_name(b);
  if (!first || !second) return a < b;  // not log files: any fixed order will do
  return *first < *second;
}

spool_reader::spool_reader(std::filesystem::path dir, spool_position start)
    : dir_(std::move(dir)), position_(std::move(start)) {
  chunk_.resize(chunk_bytes);
}

spool_reader::~spool_reader() { close_file(); }

void spool_reader::close_file() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void spool_reader::seek(const spool_position& p) {
  if (p.file != position_.file) close_file();
  position_ = p;
}

std::vector<std::string> spool_reader::list_files() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (is_spool_file_name(name)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return spool_file_before(a, b); });
  return names;
}

bool spool_reader::open_file() {
  const std::vector<std::string> names = list_files();
  auto it = names.begin();
  if (!position_.file.empty()) {
    it = std::find(names.begin(), names.end(), position_.file);
    if (it == names.end()) {
      // The file is gone (removed by retention): go on with the first one after it.
      it = std::find_if(names.begin(), names.end(),
                        [&](const std::string& n) { return spool_file_before(position_.file, n); });
      if (it == names.end()) return false;
      position_ = {*it, 0};
    }
  } else {
    if (it == names.end()) return false;
    position_ = {*it, 0};
  }
  fd_ = ::open((dir_ / position_.file).c_str(), O_RDONLY | O_CLOEXEC);
  return fd_ >= 0;
}

result<void> spool_reader::read(spool_batch& out, std::size_t max_lines, std::size_t max_bytes) {
  const std::size_t start_lines = out.lines.size();
  const std::size_t start_bytes = out.data.size();
  bool skipping = false;  // inside a damaged over-long line: drop bytes up to its '\n'
  while (out.lines.size() - start_lines < max_lines && out.data.size() - start_bytes < max_bytes) {
    if (fd_ < 0 && !open_file()) break;
    const ssize_t n =
        ::pread(fd_, chunk_.data(), chunk_.size(), static_cast<off_t>(position_.offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errc::io_error, "event stream: " + (dir_ / position_.file).string() +
                                            ": read: " + std::strerror(errno));
    }
    const std::string_view bytes(chunk_.data(), static_cast<std::size_t>(n));
    const std::size_t last_newline = bytes.rfind('\n');
    if (last_newline == std::string_view::npos) {
      if (bytes.size() == chunk_.size()) {  // no '\n' in a whole chunk: damage, skip it
        if (!skipping) ++skipped_fragments_;
        skipping = true;
        position_.offset += bytes.size();
        continue;
      }
      // The end of the file, maybe with a fragment: complete once a newer file exists.
      const std::vector<std::string> names = list_files();
      const auto next = std::find_if(names.begin(), names.end(), [&](const std::string& name) {
        return spool_file_before(position_.file, name);
      });
      if (next == names.end()) break;  // still the newest: its writer may add to it
      if (!bytes.empty() && !skipping) ++skipped_fragments_;
      skipping = false;
      close_file();
      position_ = {*next, 0};
      continue;
    }
    std::size_t at = 0;
    if (skipping) {
      at = bytes.find('\n') + 1;
      position_.offset += at;
      skipping = false;
    }
    if (out.files.empty() || out.files.back() != position_.file)
      out.files.push_back(position_.file);
    const auto file_index = static_cast<std::uint32_t>(out.files.size() - 1);
    while (at <= last_newline) {
      if (out.lines.size() - start_lines >= max_lines) break;
      if (out.data.size() - start_bytes >= max_bytes) break;
      const std::size_t end = bytes.find('\n', at);
      const std::size_t size = end - at;
      if (size > 0) {  // an empty line is no event
        out.lines.push_back({.file = file_index,
                             .offset = position_.offset,
                             .begin = out.data.size(),
                             .size = size});
        out.data.append(bytes.substr(at, size));
      }
      position_.offset += size + 1;
      at = end + 1;
    }
  }
  return {};
}

std::uint64_t spool_reader::lag_bytes() const {
  std::uint64_t lag = 0;
  for (const std::string& name : list_files()) {
    const bool same = name == position_.file;
    if (!position_.file.empty() && !same && spool_file_before(name, position_.file)) continue;
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(dir_ / name, ec);
    if (ec) continue;
    lag += same ? (size > position_.offset ? size - position_.offset : 0) : size;
  }
  return lag;
}

}  // namespace bidder::stream
