#include "bidder/app/push_files.hpp"

#include <algorithm>
#include <cstring>
#include <iostream>

namespace bidder::app {

push_files::push_files(std::vector<std::string> paths, bool count_gzip_lines)
    : paths_(std::move(paths)),
      count_gzip_lines_(count_gzip_lines),
      joined_(paths_.size() > 1),
      buffer_(read_bytes) {}

push_files::~push_files() {
  if (file_ != nullptr) std::fclose(file_);
}

result<void> push_files::open() {
  for (const std::string& path : paths_) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      return make_error(errc::io_error,
                        path + ": cannot open for reading: " + std::strerror(errno));
    }
    if (std::fseek(f, 0, SEEK_END) == 0) {
      const long size = std::ftell(f);
      if (size > 0) total_bytes_ += static_cast<std::uint64_t>(size);
    }
    std::fclose(f);
  }
  return {};
}

void push_files::count(std::string_view plain) noexcept {
  lines_ += static_cast<std::uint64_t>(std::count(plain.begin(), plain.end(), '\n'));
}

result<bool> push_files::open_next() {
  if (index_ == paths_.size()) return false;
  const std::string& path = paths_[index_++];
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) return make_error(errc::io_error, path + ": cannot open for reading");
  // Peek at the magic number to tell gzip.
  unsigned char magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, file_);
  std::rewind(file_);
  const bool gzipped = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  gzip_.reset();
  gzipped_ = gzipped;
  send_inflated_ = gzipped && joined_;
  if (gzipped && (joined_ || count_gzip_lines_)) {
    gzip_ = std::make_unique<gunzip_stream>(max_inflated_bytes);
  }
  return true;
}

result<bool> push_files::next(std::string& chunk) {
  chunk.clear();
  while (chunk.empty()) {
    if (file_ == nullptr) {
      auto opened = open_next();
      if (!opened) return opened.error();
      if (!*opened) return false;
      // Several files: a file without a final newline must not glue onto the next one's line.
      if (joined_ && index_ > 1 && last_sent_ != '\n') chunk += '\n';
    }
    const std::size_t got = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    const std::string& path = paths_[index_ - 1];
    if (got == 0) {
      const bool failed = std::ferror(file_) != 0;
      std::fclose(file_);
      file_ = nullptr;
      if (failed) return make_error(errc::io_error, path + ": read error");
      if (gzip_) {
        if (auto r = gzip_->finish(); !r) {
          return make_error(r.error().code, path + ": " + r.error().message);
        }
      }
      continue;
    }
    bytes_read_ += got;
    const std::string_view raw(buffer_.data(), got);
    if (gzip_) {
      auto r = gzip_->feed(raw, [&](std::string_view plain) {
        count(plain);
        if (send_inflated_) chunk.append(plain);
      });
      if (!r) return make_error(r.error().code, path + ": " + r.error().message);
    } else if (!gzipped_) {
      count(raw);
    }
    if (!send_inflated_) chunk.append(raw);
  }
  last_sent_ = chunk.back();
  return true;
}

std::string human_bytes(double bytes) {
  static constexpr const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  std::size_t unit = 0;
  while (bytes >= 1000 && unit + 1 < std::size(units)) {
    bytes /= 1000;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof out, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return out;
}

progress_meter::progress_meter(std::uint64_t total_bytes, bool enabled)
    : total_(total_bytes), enabled_(enabled) {}

void progress_meter::update(std::uint64_t bytes, std::uint64_t lines, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  const double lines_rate = seconds > 0 ? static_cast<double>(lines) / seconds : 0;
  char eta[32] = "";
  if (rate > 0 && total_ > bytes) {
    std::snprintf(eta, sizeof eta, "  ETA %.0fs", static_cast<double>(total_ - bytes) / rate);
  }
  const double percent = total_ > 0 ? 100.0 * static_cast<double>(bytes) / total_ : 100.0;
  char line[200];
  std::snprintf(line, sizeof line, "\r%s / %s (%.0f%%)  %llu lines  %s/s  %.0fk lines/s%s\x1b[K",
                human_bytes(static_cast<double>(bytes)).c_str(),
                human_bytes(static_cast<double>(total_)).c_str(), percent,
                static_cast<unsigned long long>(lines), human_bytes(rate).c_str(),
                lines_rate / 1000, eta);
  std::cerr << line << std::flush;
}

void progress_meter::finish(std::uint64_t bytes, std::uint64_t lines) {
  if (!enabled_) return;
  update(bytes, lines, true);
  std::cerr << "\nsent; the bidder is sorting and applying it...\n";
}

}  // namespace bidder::app
