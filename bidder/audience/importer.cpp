#include "bidder/audience/importer.hpp"

#include <algorithm>
#include <chrono>

#include "bidder/core/gzip.hpp"
#include "bidder/core/names.hpp"

namespace bidder::audience {

result<import_report> import_segment(rocksdb_store& store, const import_options& options,
                                     std::string_view file, unix_seconds now) {
  const auto start = std::chrono::steady_clock::now();
  if (!is_url_safe_name(options.segment)) {
    return make_error(errc::invalid_field, "segment name \"" + options.segment +
                                               "\": use 1 to 128 of A-Z a-z 0-9 - _ . ~");
  }
  import_report report;
  std::vector<member> members;
  line_parser parser(now);
  auto on_member = [&](member&& m) { members.push_back(std::move(m)); };
  auto on_error = [&](line_error&& e) {
    ++report.rejected;
    if (report.errors.size() < max_listed_errors) report.errors.push_back(std::move(e));
  };
  if (looks_gzipped(file)) {
    auto r = gunzip_each(file, options.max_bytes,
                         [&](std::string_view chunk) { parser.feed(chunk, on_member, on_error); });
    if (!r) {
      report.refusal = "the gzip file cannot be read: " + r.error().message;
      return report;
    }
  } else {
    if (file.size() > options.max_bytes) {
      report.refusal = "file larger than " + std::to_string(options.max_bytes) + " bytes";
      return report;
    }
    parser.feed(file, on_member, on_error);
  }
  parser.finish(on_member, on_error);
  report.lines = parser.lines();

  auto finish = [&] {
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (report.rejected > options.max_errors) {
    report.refusal = std::to_string(report.rejected) + " bad line(s), more than the " +
                     std::to_string(options.max_errors) +
                     " allowed (--max-errors): nothing was applied";
    finish();
    return report;
  }
  // Sorted by key, latest last-seen first, then one entry per key.
  std::sort(members.begin(), members.end(), [](const member& a, const member& b) {
    return a.key != b.key ? a.key < b.key : a.last_seen > b.last_seen;
  });
  const std::size_t read = members.size();
  members.erase(std::unique(members.begin(), members.end(),
                            [](const member& a, const member& b) { return a.key == b.key; }),
                members.end());
  report.duplicates = read - members.size();
  report.members = members.size();
  if (members.empty()) {
    report.refusal = "the file has no members (an empty replace would wipe the segment)";
    finish();
    return report;
  }
  auto update = store.update_segment(options.segment, options.mode, options.ttl_days, members, now);
  if (!update) return update.error();
  report.update = *update;
  report.applied = true;
  finish();
  return report;
}

}  // namespace bidder::audience
