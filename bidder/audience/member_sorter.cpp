#include "bidder/audience/member_sorter.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <queue>

namespace bidder::audience {
namespace {

namespace fs = std::filesystem;

// Sorted by key, latest last-seen first: unique() then keeps the latest of each key.
bool key_then_latest(const member& a, const member& b) {
  // One three-way compare: `a.key != b.key ? a.key < b.key : ...` compared twice, and key
  // comparison was a third of a 10M-line push (perf).
  const int order = a.key.compare(b.key);
  return order != 0 ? order < 0 : a.last_seen > b.last_seen;
}

// A run file holds, for each member: varint key length, key, varint last-seen. Both ends buffer
// by hand: iostream's per-byte get() was a visible share of the merge.
constexpr std::size_t run_buffer_bytes = std::size_t{1} << 20;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

class run_writer {
 public:
  explicit run_writer(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    buffer_.reserve(run_buffer_bytes + 8192);
  }
  ~run_writer() {
    if (file_ != nullptr) std::fclose(file_);
  }
  bool ok() const { return file_ != nullptr && ok_; }
  void write(std::string_view key, unix_seconds last_seen) {
    put_varint(buffer_, key.size());
    buffer_ += key;
    put_varint(buffer_, static_cast<std::uint64_t>(std::max<unix_seconds>(last_seen, 0)));
    if (buffer_.size() >= run_buffer_bytes) flush();
  }
  bool close() {
    flush();
    if (file_ != nullptr && std::fclose(file_) != 0) ok_ = false;
    file_ = nullptr;
    return ok_;
  }

 private:
  void flush() {
    if (file_ == nullptr || buffer_.empty()) return;
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) ok_ = false;
    buffer_.clear();
  }
  std::FILE* file_;
  std::string buffer_;
  bool ok_ = true;
};

class run_reader {
 public:
  explicit run_reader(const std::string& path)
      : file_(std::fopen(path.c_str(), "rb")), buffer_(run_buffer_bytes) {}
  ~run_reader() {
    if (file_ != nullptr) std::fclose(file_);
  }
  run_reader(const run_reader&) = delete;
  run_reader& operator=(const run_reader&) = delete;

  bool next(member& m) {
    std::uint64_t length = 0, seen = 0;
    if (!read_varint(length) || length > 65535) return false;
    if (!refill(length)) return false;
    m.key.assign(buffer_.data() + at_, length);
    at_ += length;
    if (!read_varint(seen)) return false;
    m.last_seen = static_cast<unix_seconds>(seen);
    return true;
  }

 private:
  // Makes at least `want` bytes available at at_; false at the end of the file.
  bool refill(std::size_t want) {
    if (end_ - at_ >= want) return true;
    if (file_ == nullptr) return false;
    std::memmove(buffer_.data(), buffer_.data() + at_, end_ - at_);
    end_ -= at_;
    at_ = 0;
    if (buffer_.size() < want) buffer_.resize(want);
    while (end_ < want) {
      const std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
      if (got == 0) return false;
      end_ += got;
    }
    return true;
  }
  bool read_varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!refill(1)) return false;
      const auto c = static_cast<unsigned char>(buffer_[at_++]);
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if ((c & 0x80) == 0) return true;
    }
    return false;
  }

  std::FILE* file_;
  std::vector<char> buffer_;
  std::size_t at_ = 0, end_ = 0;
};

// The in-memory case: the sorted records, read out of the arena (offset, size, last seen).
class arena_source final : public member_source {
 public:
  struct entry {
    std::uint32_t offset;
    std::uint16_t size;
    unix_seconds last_seen;
  };
  arena_source(std::string arena, std::vector<entry> members)
      : arena_(std::move(arena)), members_(std::move(members)) {}
  std::uint64_t size() const noexcept override { return members_.size(); }
  bool next(member& out) override {
    if (next_ == members_.size()) return false;
    const entry& e = members_[next_++];
    out.key.assign(arena_.data() + e.offset, e.size);
    out.last_seen = e.last_seen;
    return true;
  }

 private:
  std::string arena_;
  std::vector<entry> members_;
  std::size_t next_ = 0;
};

class vector_source final : public member_source {
 public:
  explicit vector_source(std::vector<member> members) : members_(std::move(members)) {}
  std::uint64_t size() const noexcept override { return members_.size(); }
  bool next(member& out) override {
    if (next_ == members_.size()) return false;
    out = std::move(members_[next_++]);
    return true;
  }

 private:
  std::vector<member> members_;
  std::size_t next_ = 0;
};

class file_source final : public member_source {
 public:
  file_source(std::string path, std::uint64_t size)
      : path_(std::move(path)), size_(size), reader_(path_) {}
  ~file_source() override {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  std::uint64_t size() const noexcept override { return size_; }
  bool next(member& out) override {
    if (read_ == size_) return false;
    if (!reader_.next(out)) {
      failure_ = make_error(errc::io_error, "sorted members file " + path_ + " is unreadable");
      return false;
    }
    ++read_;
    return true;
  }
  const error* failure() const noexcept override { return failure_ ? &*failure_ : nullptr; }

 private:
  std::string path_;
  std::uint64_t size_;
  std::uint64_t read_ = 0;
  run_reader reader_;
  std::optional<error> failure_;
};

}  // namespace

std::unique_ptr<member_source> source_of(std::vector<member> sorted_unique) {
  return std::make_unique<vector_source>(std::move(sorted_unique));
}

member_sorter::member_sorter(std::string temp_dir, std::size_t max_in_memory)
    : temp_dir_(std::move(temp_dir)),
      max_in_memory_(std::max<std::size_t>(max_in_memory, 1)),
      // Offsets are 32-bit: a run's arena stays under 1 GiB whatever max_in_memory says.
      max_arena_bytes_(
          std::min<std::size_t>(max_in_memory_ * arena_bytes_per_member, std::size_t{1} << 30)) {}

member_sorter::~member_sorter() {
  std::error_code ignored;
  for (const std::string& run : runs_) fs::remove(run, ignored);
}

result<void> member_sorter::add(std::string_view key, unix_seconds last_seen) {
  ++added_;
  if (records_.empty()) {
    records_.reserve(std::min<std::size_t>(max_in_memory_, 1 << 16));
  }
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    prefix = (prefix << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0u);
  }
  records_.push_back({prefix, static_cast<std::uint32_t>(arena_.size()),
                      static_cast<std::uint16_t>(std::min<std::size_t>(key.size(), 65535)),
                      last_seen});
  arena_.append(key.substr(0, 65535));
  if (records_.size() >= max_in_memory_ || arena_.size() >= max_arena_bytes_) return spill();
  return {};
}

void member_sorter::sort_records() {
  std::sort(records_.begin(), records_.end(), [this](const record& a, const record& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    const int order = key_of(a).compare(key_of(b));
    return order != 0 ? order < 0 : a.last_seen > b.last_seen;
  });
}

result<void> member_sorter::spill() {
  sort_records();
  const std::string path = temp_dir_ + "/run-" + std::to_string(runs_.size());
  run_writer writer(path);
  if (!writer.ok()) return make_error(errc::io_error, "cannot write sort run " + path);
  const record* previous = nullptr;
  for (const record& r : records_) {
    if (previous != nullptr && key_of(*previous) == key_of(r)) {
      ++duplicates_;
      continue;
    }
    writer.write(key_of(r), r.last_seen);
    previous = &r;
  }
  if (!writer.close()) return make_error(errc::io_error, "cannot write sort run " + path);
  runs_.push_back(path);
  records_.clear();
  arena_.clear();
  return {};
}

result<std::unique_ptr<member_source>> member_sorter::finish() {
  if (runs_.empty()) {
    sort_records();
    std::vector<arena_source::entry> members;
    members.reserve(records_.size());
    const record* previous = nullptr;
    for (const record& r : records_) {
      if (previous != nullptr && key_of(*previous) == key_of(r)) {
        ++duplicates_;
        continue;
      }
      members.push_back({r.offset, r.size, r.last_seen});
      previous = &r;
    }
    records_.clear();
    records_.shrink_to_fit();
    return std::unique_ptr<member_source>(
        std::make_unique<arena_source>(std::move(arena_), std::move(members)));
  }
  if (!records_.empty()) {
    if (auto r = spill(); !r) return r.error();
  }
  // k-way merge of the runs into one sorted, unique file; its length is then known.
  struct head {
    member m;
    std::size_t run;
  };
  auto later = [](const head& a, const head& b) { return key_then_latest(b.m, a.m); };
  std::priority_queue<head, std::vector<head>, decltype(later)> heads(later);
  std::vector<std::unique_ptr<run_reader>> readers;
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    readers.push_back(std::make_unique<run_reader>(runs_[i]));
    head h{{}, i};
    if (readers.back()->next(h.m)) heads.push(std::move(h));
  }
  const std::string merged = temp_dir_ + "/merged";
  run_writer writer(merged);
  if (!writer.ok()) return make_error(errc::io_error, "cannot write " + merged);
  std::uint64_t written = 0;
  std::string last_key;
  bool any = false;
  while (!heads.empty()) {
    head h = std::move(const_cast<head&>(heads.top()));
    heads.pop();
    if (any && h.m.key == last_key) {
      ++duplicates_;
    } else {
      writer.write(h.m.key, h.m.last_seen);
      last_key.assign(h.m.key);
      any = true;
      ++written;
    }
    if (readers[h.run]->next(h.m)) heads.push(std::move(h));
  }
  if (!writer.close()) return make_error(errc::io_error, "cannot write " + merged);
  readers.clear();
  std::error_code ignored;
  for (const std::string& run : runs_) fs::remove(run, ignored);
  runs_.clear();
  return std::unique_ptr<member_source>(std::make_unique<file_source>(merged, written));
}

}  // namespace bidder::audience
