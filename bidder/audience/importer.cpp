#include "bidder/audience/importer.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bidder/core/gzip.hpp"
#include "bidder/core/names.hpp"

namespace bidder::audience {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view manifest_format = "bidder-audience-members-1";

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

// Parses files into a sorter, counting lines and bad lines into the report. Line numbers
// restart with each file.
class file_reader {
 public:
  file_reader(const import_options& options, import_report& report, member_sorter& sorter,
              unix_seconds now)
      : options_(options), report_(report), sorter_(sorter), now_(now) {}

  // Returns false (with report.refusal set) when the bytes cannot be read at all.
  bool feed_file(std::string_view bytes) {
    line_parser parser(now_);
    auto on_member = [this](member&& m) {
      if (failed_) return;
      if (auto r = sorter_.add(std::move(m)); !r) {
        failed_ = true;
        report_.refusal = r.error().message;
      }
    };
    auto on_error = [this](line_error&& e) {
      ++report_.rejected;
      if (report_.errors.size() < max_listed_errors) report_.errors.push_back(std::move(e));
    };
    if (looks_gzipped(bytes)) {
      auto r = gunzip_each(bytes, options_.max_bytes, [&](std::string_view chunk) {
        parser.feed(chunk, on_member, on_error);
      });
      if (!r) {
        report_.refusal = "the gzip file cannot be read: " + r.error().message;
        return false;
      }
    } else {
      if (bytes.size() > options_.max_bytes) {
        report_.refusal = "file larger than " + std::to_string(options_.max_bytes) + " bytes";
        return false;
      }
      parser.feed(bytes, on_member, on_error);
    }
    parser.finish(on_member, on_error);
    report_.lines += parser.lines();
    return !failed_;
  }

 private:
  const import_options& options_;
  import_report& report_;
  member_sorter& sorter_;
  unix_seconds now_;
  bool failed_ = false;
};

// Reads and parses every file; the report says whether the push may go on (refusal empty).
import_report parse_all(const std::vector<std::string_view>& files, const import_options& options,
                        member_sorter& sorter, unix_seconds now) {
  import_report report;
  file_reader reader(options, report, sorter, now);
  for (std::string_view bytes : files) {
    if (!reader.feed_file(bytes)) return report;
  }
  if (report.rejected > options.max_errors) {
    report.refusal = std::to_string(report.rejected) + " bad line(s), more than the " +
                     std::to_string(options.max_errors) +
                     " allowed (--max-errors): nothing was applied";
  }
  return report;
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

result<import_report> import_segment(rocksdb_store& store, const import_options& options,
                                     std::string_view file, unix_seconds now) {
  const auto start = std::chrono::steady_clock::now();
  if (auto r = check_segment_name(options.segment); !r) return r.error();
  sort_dir dir(options.temp_dir);
  member_sorter sorter(dir.path.string(), options.max_in_memory);
  import_report report = parse_all({file}, options, sorter, now);
  auto finish = [&] { report.seconds = seconds_since(start); };
  if (!report.refusal.empty()) return finish(), report;
  auto sorted = sorter.finish();
  if (!sorted) return sorted.error();
  report.duplicates = sorter.duplicates();
  report.members = (*sorted)->size();
  if (report.members == 0) {
    report.refusal = "the file has no members (an empty replace would wipe the segment)";
    return finish(), report;
  }
  auto update =
      store.update_segment(options.segment, options.mode, options.ttl_days, **sorted, now);
  if (!update) return update.error();
  report.update = *update;
  report.applied = true;
  finish();
  return report;
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
  // One file at a time in memory (compressed size for gzip); members go to the sorter.
  import_report report;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(errc::io_error, path + ": cannot open for reading");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    const std::string content = bytes.str();
    import_report part = parse_all({content}, import_options{options}, sorter, now);
    report.lines += part.lines;
    report.rejected += part.rejected;
    for (line_error& e : part.errors) {
      if (report.errors.size() < max_listed_errors) {
        e.reason = path + ": " + e.reason;
        report.errors.push_back(std::move(e));
      }
    }
    if (!part.refusal.empty() && part.rejected <= options.max_errors) {
      report.refusal = path + ": " + part.refusal;
      return report;
    }
  }
  if (report.rejected > options.max_errors) {
    report.refusal = std::to_string(report.rejected) + " bad line(s), more than the " +
                     std::to_string(options.max_errors) + " allowed (--max-errors)";
    return report;
  }
  auto sorted = sorter.finish();
  if (!sorted) return sorted.error();
  report.duplicates = sorter.duplicates();
  report.members = (*sorted)->size();
  if (report.members == 0) {
    report.refusal = "the files have no members";
    return report;
  }
  const std::string members_path = out_dir + "/members.sst";
  auto written = rocksdb_store::write_members_file(**sorted, members_path);
  if (!written) return written.error();
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

result<import_report> ingest_segment(rocksdb_store& store, const std::string& dir,
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
