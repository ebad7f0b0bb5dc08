#include "bidder/audience/member_sorter.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "bidder/core/codec.hpp"

namespace bidder::audience {
namespace {

namespace fs = std::filesystem;

// A run file holds, for each member: varint key length, key, varint last-seen. Both ends buffer
// by hand: iostream's per-byte get() was a visible share of the merge.
constexpr std::size_t run_buffer_bytes = std::size_t{1} << 20;
// What the merge's read buffers may take together.
constexpr std::size_t merge_buffer_budget = std::size_t{64} << 20;

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
  run_reader(const std::string& path, std::size_t buffer_bytes)
      : file_(std::fopen(path.c_str(), "rb")), buffer_(file_ != nullptr ? buffer_bytes : 0) {}
  ~run_reader() {
    if (file_ != nullptr) std::fclose(file_);
  }
  run_reader(const run_reader&) = delete;
  run_reader& operator=(const run_reader&) = delete;

  /// True when the whole file was read (no partial member left, no read error).
  bool at_end() { return file_ != nullptr && at_ == end_ && !refill(1) && std::ferror(file_) == 0; }

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

// Compares two keys whose first min(16, sizes) bytes are known to be equal (same prefix words;
// keys hold no NUL bytes, so zero padding cannot fake equality).
int compare_after_prefix(std::string_view a, std::string_view b) {
  const std::size_t skip = std::min<std::size_t>({16, a.size(), b.size()});
  return a.substr(skip).compare(b.substr(skip));
}

void key_prefix(std::string_view key, std::uint64_t (&prefix)[2]) {
  for (std::size_t word = 0; word < 2; ++word) {
    std::uint64_t v = 0;
    for (std::size_t i = word * 8; i < word * 8 + 8; ++i) {
      v = (v << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0u);
    }
    prefix[word] = v;
  }
}

// The runs merged as they are read: the next member is the smallest head (latest first among
// equal keys); later heads with the same key are duplicates, skipped and counted. Owns the
// run files and removes them.
class merge_source final : public member_source {
 public:
  merge_source(std::vector<std::string> runs, std::uint64_t upper_bound, std::uint64_t& duplicates)
      : runs_(std::move(runs)), upper_bound_(upper_bound), duplicates_(duplicates) {
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      // Read buffers share a fixed budget: many runs get smaller ones.
      const std::size_t buffer_bytes =
          std::clamp<std::size_t>(merge_buffer_budget / runs_.size(), 128 * 1024, run_buffer_bytes);
      readers_.push_back(std::make_unique<run_reader>(runs_[i], buffer_bytes));
      head h;
      h.run = i;
      if (pull(h)) heads_.push_back(std::move(h));
    }
    std::make_heap(heads_.begin(), heads_.end(), later);
  }
  ~merge_source() override {
    readers_.clear();
    std::error_code ignored;
    for (const std::string& run : runs_) fs::remove(run, ignored);
  }
  std::uint64_t size() const noexcept override { return done_ ? emitted_ : upper_bound_; }
  bool next(member& out) override {
    if (heads_.empty()) {
      done_ = true;
      return false;
    }
    std::pop_heap(heads_.begin(), heads_.end(), later);
    head& top = heads_.back();
    std::swap(out.key, top.m.key);
    out.last_seen = top.m.last_seen;
    std::uint64_t prefix[2] = {top.prefix[0], top.prefix[1]};
    advance();
    // Skip the same key in other runs (each run holds a key once).
    while (!heads_.empty() && heads_.front().prefix[0] == prefix[0] &&
           heads_.front().prefix[1] == prefix[1] && heads_.front().m.key == out.key) {
      std::pop_heap(heads_.begin(), heads_.end(), later);
      ++duplicates_;
      advance();
    }
    ++emitted_;
    return true;
  }
  const error* failure() const noexcept override { return failure_ ? &*failure_ : nullptr; }

 private:
  struct head {
    member m;
    std::uint64_t prefix[2] = {0, 0};
    std::size_t run = 0;
  };
  // True when `a` comes after `b` (a max-heap on this keeps the smallest on top).
  static bool later(const head& a, const head& b) {
    if (a.prefix[0] != b.prefix[0]) return a.prefix[0] > b.prefix[0];
    if (a.prefix[1] != b.prefix[1]) return a.prefix[1] > b.prefix[1];
    const int order = compare_after_prefix(a.m.key, b.m.key);
    return order != 0 ? order > 0 : a.m.last_seen < b.m.last_seen;
  }
  bool pull(head& h) {
    if (!readers_[h.run]->next(h.m)) return false;
    key_prefix(h.m.key, h.prefix);
    return true;
  }
  // Refills the popped head (at the back) from its run, or drops it at the run's end.
  void advance() {
    head& h = heads_.back();
    if (pull(h)) {
      std::push_heap(heads_.begin(), heads_.end(), later);
    } else {
      if (!readers_[h.run]->at_end()) {
        failure_ = make_error(errc::io_error, "sort run " + runs_[h.run] + " is unreadable");
        heads_.clear();
        return;
      }
      heads_.pop_back();
    }
  }

  std::vector<std::string> runs_;
  std::vector<std::unique_ptr<run_reader>> readers_;
  std::vector<head> heads_;
  std::uint64_t upper_bound_;
  std::uint64_t& duplicates_;
  std::uint64_t emitted_ = 0;
  bool done_ = false;
  std::optional<error> failure_;
};

}  // namespace

std::unique_ptr<member_source> source_of(std::vector<member> sorted_unique) {
  return std::make_unique<vector_source>(std::move(sorted_unique));
}

// One full run, handed to the helper thread: sorted, de-duplicated and written to `path`.
struct member_sorter::run_job {
  std::vector<record> records;
  std::string arena;
  std::string path;
  std::uint64_t duplicates = 0;
  result<void> outcome;
  std::thread thread;
};

member_sorter::member_sorter(std::string temp_dir, std::size_t max_in_memory)
    : temp_dir_(std::move(temp_dir)),
      max_in_memory_(std::max<std::size_t>(max_in_memory, 1)),
      // Offsets are 32-bit: a run's arena stays under 1 GiB whatever max_in_memory says.
      max_arena_bytes_(
          std::min<std::size_t>(max_in_memory_ * arena_bytes_per_member, std::size_t{1} << 30)) {}

member_sorter::~member_sorter() {
  ignore_error(wait_for_run(), "the sorter is dropped: its runs are removed below");
  std::error_code ignored;
  for (const std::string& run : runs_) fs::remove(run, ignored);
}

result<void> member_sorter::add(std::string_view key, unix_seconds last_seen) {
  ++added_;
  if (records_.empty()) records_.reserve(std::min<std::size_t>(max_in_memory_, 1 << 16));
  key = key.substr(0, 65535);
  record r;
  key_prefix(key, r.prefix);
  r.offset = static_cast<std::uint32_t>(arena_.size());
  r.size = static_cast<std::uint16_t>(key.size());
  r.last_seen = last_seen;
  records_.push_back(r);
  arena_.append(key);
  if (records_.size() >= max_in_memory_ || arena_.size() >= max_arena_bytes_) return spill();
  return {};
}

void member_sorter::sort_records(std::vector<record>& records, const std::string& arena) {
  auto key_of = [&](const record& r) { return std::string_view(arena.data() + r.offset, r.size); };
  std::sort(records.begin(), records.end(), [&](const record& a, const record& b) {
    if (a.prefix[0] != b.prefix[0]) return a.prefix[0] < b.prefix[0];
    if (a.prefix[1] != b.prefix[1]) return a.prefix[1] < b.prefix[1];
    const int order = compare_after_prefix(key_of(a), key_of(b));
    return order != 0 ? order < 0 : a.last_seen > b.last_seen;
  });
}

result<void> member_sorter::write_run(run_job& job) {
  sort_records(job.records, job.arena);
  auto key_of = [&](const record& r) {
    return std::string_view(job.arena.data() + r.offset, r.size);
  };
  run_writer writer(job.path);
  if (!writer.ok()) return make_error(errc::io_error, "cannot write sort run " + job.path);
  const record* previous = nullptr;
  for (const record& r : job.records) {
    if (previous != nullptr && previous->prefix[0] == r.prefix[0] &&
        previous->prefix[1] == r.prefix[1] && key_of(*previous) == key_of(r)) {
      ++job.duplicates;
      continue;
    }
    writer.write(key_of(r), r.last_seen);
    previous = &r;
  }
  if (!writer.close()) return make_error(errc::io_error, "cannot write sort run " + job.path);
  return {};
}

result<void> member_sorter::wait_for_run() {
  if (!writing_) return {};
  if (writing_->thread.joinable()) writing_->thread.join();
  const result<void> outcome = std::move(writing_->outcome);
  duplicates_ += writing_->duplicates;
  writing_.reset();
  return outcome;
}

result<void> member_sorter::spill() {
  // The merge opens every run at once: their number bounds its descriptors and buffers.
  if (runs_.size() >= max_runs) {
    return make_error(errc::too_large, "more than " + std::to_string(max_runs) +
                                           " sort runs (about " +
                                           std::to_string(max_runs * max_in_memory_ / 1'000'000) +
                                           " million members) in one update: split the file");
  }
  // The previous run must be on disk first: at most two runs are in memory.
  if (auto r = wait_for_run(); !r) return r;
  auto job = std::make_unique<run_job>();
  job->records = std::move(records_);
  job->arena = std::move(arena_);
  job->path = temp_dir_ + "/run-" + std::to_string(runs_.size());
  runs_.push_back(job->path);
  records_ = {};
  arena_ = {};
  run_job* raw = job.get();
  writing_ = std::move(job);
  try {
    raw->thread = std::thread([raw] {
      try {
        raw->outcome = write_run(*raw);
      } catch (const std::exception& e) {  // std::bad_alloc
        raw->outcome = make_error(errc::io_error, std::string("sort run: ") + e.what());
      }
    });
  } catch (const std::system_error&) {  // no thread to be had: write it here
    raw->outcome = write_run(*raw);
  }
  return {};
}

result<std::unique_ptr<member_source>> member_sorter::finish() {
  if (runs_.empty()) {
    sort_records(records_, arena_);
    std::vector<arena_source::entry> members;
    members.reserve(records_.size());
    const record* previous = nullptr;
    for (const record& r : records_) {
      if (previous != nullptr && previous->prefix[0] == r.prefix[0] &&
          previous->prefix[1] == r.prefix[1] &&
          std::string_view(arena_.data() + previous->offset, previous->size) ==
              std::string_view(arena_.data() + r.offset, r.size)) {
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
  if (auto r = wait_for_run(); !r) return r.error();
  // Every member added, less the duplicates found within runs: an upper bound until merged.
  const std::uint64_t upper_bound = added_ - duplicates_;
  auto source = std::make_unique<merge_source>(std::move(runs_), upper_bound, duplicates_);
  runs_.clear();
  return std::unique_ptr<member_source>(std::move(source));
}

}  // namespace bidder::audience
