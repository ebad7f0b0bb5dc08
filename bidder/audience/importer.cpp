#include "bidder/audience/importer.hpp"

#include <cassert>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/core/gzip.hpp"
#include "bidder/core/names.hpp"

namespace bidder::audience {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view manifest_format = "bidder-audience-members-1";

// How much of a file `build` reads at a time: large enough that reads cost nothing next to
// parsing, small enough not to matter for memory.
constexpr std::size_t read_chunk_bytes = std::size_t{1} << 20;

// A private folder for one sort, removed when done.
struct sort_dir {
  fs::path path;
  explicit sort_dir(const std::string& parent) {
    std::random_device rd;
    path = (parent.empty() ? fs::temp_directory_path() : fs::path(parent)) /
           ("bidder-sort-" + std::to_string(rd()) + std::to_string(rd()));
    std::error_code ignored;
    fs::create_directories(path, ignored);
  }
  ~sort_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Parses one file, as its bytes arrive, into a sorter, counting lines and bad lines into the
// report. Plain or gzip is told by the first two bytes. Line numbers restart with each file.
class file_feeder {
 public:
  file_feeder(const import_options& options, import_report& report, member_sorter& sorter,
              unix_seconds now)
      : options_(options), report_(report), sorter_(sorter), parser_(now) {}

  // After a refusal (report.refusal set) the rest is ignored.
  void feed(std::string_view bytes) {
    if (failed()) return;
    if (!decided_) {
      // Up to the first two bytes wait here, so that any chunking tells gzip apart.
      while (head_.size() < 2 && !bytes.empty()) {
        head_ += bytes.front();
        bytes.remove_prefix(1);
      }
      if (head_.size() < 2) return;
      decided_ = true;
      if (looks_gzipped(head_)) gzip_.emplace(options_.max_bytes);
      const std::string head = std::move(head_);
      feed_raw(head);
    }
    feed_raw(bytes);
  }

  // The end of the file: a truncated gzip file is refused here.
  void finish() {
    if (failed()) return;
    if (!decided_) {
      decided_ = true;
      feed_raw(head_);  // a file of 0 or 1 byte
    }
    if (gzip_) {
      if (auto r = gzip_->finish(); !r) {
        report_.refusal = "the gzip file cannot be read: " + r.error().message;
        return;
      }
    }
    parser_.finish(on_member_, on_error_);
    report_.lines += parser_.lines();
  }

  bool failed() const noexcept { return !report_.refusal.empty(); }
  // Lines parsed so far (complete ones; finish() adds the last).
  std::size_t lines_read() const noexcept { return parser_.lines(); }

 private:
  void feed_raw(std::string_view bytes) {
    if (failed() || bytes.empty()) return;
    if (gzip_) {
      auto r = gzip_->feed(bytes, [this](std::string_view plain) { feed_plain(plain); });
      if (!r && !failed()) report_.refusal = "the gzip file cannot be read: " + r.error().message;
      return;
    }
    feed_plain(bytes);
  }

  void feed_plain(std::string_view bytes) {
    if (failed()) return;
    plain_bytes_ += bytes.size();
    if (!gzip_ && plain_bytes_ > options_.max_bytes) {
      report_.refusal = "file larger than " + std::to_string(options_.max_bytes) + " bytes";
      return;
    }
    parser_.feed(bytes, on_member_, on_error_);
  }

  const import_options& options_;
  import_report& report_;
  member_sorter& sorter_;
  line_parser parser_;
  std::optional<gunzip_stream> gzip_;
  std::string head_;
  bool decided_ = false;
  std::uint64_t plain_bytes_ = 0;
  const line_parser::member_fn on_member_ = [this](const member& m) {
    // Past max_errors the push is refused anyway: keep counting bad lines, stop sorting.
    if (failed() || report_.rejected > options_.max_errors) return;
    if (auto r = sorter_.add(m.key, m.last_seen); !r) report_.refusal = r.error().message;
  };
  const line_parser::error_fn on_error_ = [this](line_error&& e) {
    ++report_.rejected;
    if (report_.errors.size() < max_listed_errors) report_.errors.push_back(std::move(e));
  };
};

// Sets the refusal when there were more bad lines than allowed.
void check_rejected(import_report& report, const import_options& options, std::string_view tail) {
  if (report.refusal.empty() && report.rejected > options.max_errors) {
    report.refusal = std::to_string(report.rejected) + " bad line(s), more than the " +
                     std::to_string(options.max_errors) + " allowed (--max-errors)" +
                     std::string(tail);
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

result<void> check_segment_name(const std::string& segment) {
  if (!is_url_safe_name(segment)) {
    return make_error(errc::invalid_field,
                      "segment name \"" + segment + "\": use 1 to 128 of A-Z a-z 0-9 - _ . ~");
  }
  return {};
}

}  // namespace

struct push_stream::impl {
  impl(segment_store& s, const import_options& o, unix_seconds n)
      : store(s),
        options(o),
        now(n),
        dir(o.temp_dir),
        sorter(dir.path.string(), o.max_in_memory),
        feeder(options, report, sorter, now) {}
  segment_store& store;
  const import_options options;
  const unix_seconds now;
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  sort_dir dir;
  member_sorter sorter;
  import_report report;
  file_feeder feeder;
  bool finished = false;
};

push_stream::push_stream(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
push_stream::~push_stream() = default;

result<std::unique_ptr<push_stream>> push_stream::open(segment_store& store,
                                                       const import_options& options,
                                                       unix_seconds now) {
  if (auto r = check_segment_name(options.segment); !r) return r.error();
  return std::unique_ptr<push_stream>(new push_stream(std::make_unique<impl>(store, options, now)));
}

void push_stream::feed(std::string_view bytes) { impl_->feeder.feed(bytes); }

bool push_stream::refused() const noexcept {
  return impl_->feeder.failed() || impl_->report.rejected > impl_->options.max_errors;
}

result<import_report> push_stream::finish(ending how) {
  impl& self = *impl_;
  assert(!self.finished && "push_stream::finish is called once");
  self.finished = true;
  import_report& report = self.report;
  if (how == ending::whole_file) {
    self.feeder.finish();
    check_rejected(report, self.options, ": nothing was applied");
  } else {
    // The line being read when the caller stopped is cut short: it is not parsed.
    report.lines = self.feeder.lines_read();
    check_rejected(report, self.options,
                   " in the first " + std::to_string(report.lines) +
                       " lines: the upload was stopped there and nothing was applied");
    if (report.refusal.empty()) report.refusal = "the upload was stopped: nothing was applied";
  }
  auto done = [&] {
    report.seconds = seconds_since(self.start);
    return report;
  };
  if (!report.refusal.empty()) return done();
  auto sorted = self.sorter.finish();
  if (!sorted) return sorted.error();
  if ((*sorted)->size() == 0) {
    report.refusal = "the file has no members (an empty replace would wipe the segment)";
    return done();
  }
  auto update = self.store.update_segment(self.options.segment, self.options.mode,
                                          self.options.ttl_days, **sorted, self.now);
  if (!update) return update.error();
  // The merge finds duplicates across runs as it goes: exact once the update read it all.
  report.members = (*sorted)->size();
  report.duplicates = self.sorter.duplicates();
  report.update = *update;
  report.applied = true;
  return done();
}

result<import_report> import_segment(segment_store& store, const import_options& options,
                                     std::string_view file, unix_seconds now) {
  auto push = push_stream::open(store, options, now);
  if (!push) return push.error();
  (*push)->feed(file);
  return (*push)->finish();
}

result<import_report> build_segment(const std::vector<std::string>& files,
                                    const import_options& options, const std::string& out_dir,
                                    unix_seconds now) {
  const auto start = std::chrono::steady_clock::now();
  if (auto r = check_segment_name(options.segment); !r) return r.error();
  std::error_code fs_error;
  fs::create_directories(out_dir, fs_error);
  if (fs_error) return make_error(errc::io_error, "cannot create " + out_dir);
  sort_dir dir(options.temp_dir.empty() ? out_dir : options.temp_dir);
  member_sorter sorter(dir.path.string(), options.max_in_memory);
  // Each file is read in pieces; members go to the sorter, so memory stays bounded.
  import_report report;
  std::vector<char> buffer(read_chunk_bytes);
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(errc::io_error, path + ": cannot open for reading");
    import_report part;
    file_feeder feeder(options, part, sorter, now);
    while (!feeder.failed()) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (in.gcount() > 0) feeder.feed(std::string_view(buffer.data(), in.gcount()));
      if (!in) break;
    }
    if (in.bad()) return make_error(errc::io_error, path + ": read error");
    feeder.finish();
    report.lines += part.lines;
    report.rejected += part.rejected;
    for (line_error& e : part.errors) {
      if (report.errors.size() < max_listed_errors) {
        e.reason = path + ": " + e.reason;
        report.errors.push_back(std::move(e));
      }
    }
    if (!part.refusal.empty()) {
      report.refusal = path + ": " + part.refusal;
      return report;
    }
  }
  check_rejected(report, options, "");
  if (!report.refusal.empty()) return report;
  auto sorted = sorter.finish();
  if (!sorted) return sorted.error();
  if ((*sorted)->size() == 0) {
    report.refusal = "the files have no members";
    return report;
  }
  const std::string members_path = out_dir + "/members.sst";
  auto written = rocksdb_store::write_members_file(**sorted, members_path);
  if (!written) return written.error();
  report.members = *written;
  report.duplicates = sorter.duplicates();
  std::ofstream manifest(out_dir + "/manifest.txt", std::ios::trunc);
  manifest << "format=" << manifest_format << "\nsegment=" << options.segment
           << "\nmode=" << to_string(options.mode) << "\nttl_days=" << options.ttl_days
           << "\nmembers=" << *written << "\nlines=" << report.lines << "\nbuilt_at=" << now
           << "\n";
  if (!manifest.flush())
    return make_error(errc::io_error, "cannot write " + out_dir + "/manifest.txt");
  report.applied = true;  // built (nothing is applied to a store here)
  report.seconds = seconds_since(start);
  return report;
}

result<import_report> ingest_segment(segment_store& store, const std::string& dir,
                                     std::optional<update_mode> mode, unix_seconds now) {
  const auto start = std::chrono::steady_clock::now();
  std::ifstream in(dir + "/manifest.txt");
  if (!in)
    return make_error(errc::invalid_field, dir + ": no manifest.txt (made by audience build)");
  std::string line, format, segment, mode_text = "replace";
  std::uint64_t members = 0, lines = 0, ttl_days = 0;
  while (std::getline(in, line)) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    try {
      if (key == "format") format = value;
      if (key == "segment") segment = value;
      if (key == "mode") mode_text = value;
      if (key == "ttl_days") ttl_days = std::stoull(value);
      if (key == "members") members = std::stoull(value);
      if (key == "lines") lines = std::stoull(value);
    } catch (...) {
      return make_error(errc::invalid_field, dir + "/manifest.txt: bad " + key);
    }
  }
  if (format != manifest_format) {
    return make_error(errc::invalid_field,
                      dir + "/manifest.txt: unknown format \"" + format + "\"");
  }
  if (auto r = check_segment_name(segment); !r) return r.error();
  auto manifest_mode = parse_update_mode(mode_text);
  if (!manifest_mode) return make_error(errc::invalid_field, dir + "/manifest.txt: bad mode");
  import_report report;
  report.lines = lines;
  report.members = members;
  auto update = store.update_segment_from_file(segment, mode.value_or(*manifest_mode),
                                               static_cast<std::uint32_t>(ttl_days),
                                               dir + "/members.sst", members, now);
  if (!update) return update.error();
  report.update = *update;
  report.applied = true;
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace bidder::audience
