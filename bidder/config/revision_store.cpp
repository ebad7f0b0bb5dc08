#include "bidder/config/revision_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "bidder/config/campaign_json.hpp"
#include "bidder/core/atomic_file.hpp"
#include "bidder/core/codec.hpp"

namespace bidder::config {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view file_prefix = "revision-";
constexpr std::string_view file_suffix = ".json";

result<void> io_failure(const fs::path& path, std::string_view what) {
  return make_error(errc::io_error,
                    path.string() + ": " + std::string(what) + ": " + std::strerror(errno));
}

std::string hex(std::uint64_t v) {
  std::string text;
  append_hex(text, v, 16);
  return text;
}

boost::json::object info_json(const revision_info& info) {
  return {{"revision", info.revision}, {"time", info.time},
          {"who", info.who},           {"what", info.what},
          {"source", info.source},     {"file_digest", hex(info.file_digest)}};
}

std::string string_of(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

result<revision> parse_revision(const fs::path& path, std::string_view text) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text, ec);
  auto corrupt = [&](std::string_view why) {
    return make_error(errc::invalid_config,
                      path.string() + ": corrupt revision file: " + std::string(why));
  };
  if (ec || !root.is_object()) return corrupt("not a JSON object");
  const auto& o = root.as_object();
  revision r;
  const auto* n = o.if_contains("revision");
  if (n == nullptr || !n->is_number()) return corrupt("no revision number");
  r.info.revision = n->to_number<std::uint64_t>();
  r.info.time = string_of(o, "time");
  r.info.who = string_of(o, "who");
  r.info.what = string_of(o, "what");
  r.info.source = string_of(o, "source");
  r.info.file_digest = std::strtoull(string_of(o, "file_digest").c_str(), nullptr, 16);
  const auto* list = o.if_contains("campaigns");
  if (list == nullptr || !list->is_array()) return corrupt("no campaigns array");
  for (const auto& c : list->as_array()) {
    auto campaign = campaign_from_json(boost::json::serialize(c));
    if (!campaign) return corrupt(campaign.error().message);
    r.campaigns.push_back(std::move(*campaign));
  }
  return r;
}

result<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io_error, path.string() + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(errc::io_error, path.string() + ": read failed");
  return text.str();
}

}  // namespace

std::string iso8601(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

fs::path revision_store::file_of(std::uint64_t n) const {
  char name[32];
  std::snprintf(name, sizeof name, "%08llu", static_cast<unsigned long long>(n));
  return dir_ / (std::string(file_prefix) + name + std::string(file_suffix));
}

result<std::unique_ptr<revision_store>> revision_store::open(fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  std::unique_ptr<revision_store> store(new revision_store(dir));
  std::set<std::uint64_t> numbers;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // A write a crash interrupted: never renamed, never applied.
    if (name.ends_with(".tmp") || is_atomic_temporary_name(name)) {
      fs::remove(entry.path(), ec);
      continue;
    }
    if (!name.starts_with(file_prefix) || !name.ends_with(file_suffix)) continue;
    numbers.insert(std::strtoull(name.c_str() + file_prefix.size(), nullptr, 10));
  }
  if (ec) return make_error(errc::io_error, "cannot list " + dir.string() + ": " + ec.message());
  for (std::uint64_t n : numbers) {
    auto r = store->read(n);
    if (!r) return r.error();
    store->history_.push_back(r->info);
    if (n == *numbers.rbegin()) store->latest_ = std::move(*r);
  }
  // The audit lines a crash between a revision's write and its audit line lost.
  auto entries = store->audit();
  if (!entries) return entries.error();
  std::uint64_t audited = 0;
  for (const std::string& line : *entries) {
    boost::system::error_code jec;
    const auto v = boost::json::parse(line, jec);
    if (jec || !v.is_object()) continue;
    if (const auto* n = v.as_object().if_contains("revision"); n != nullptr && n->is_number()) {
      audited = std::max(audited, n->to_number<std::uint64_t>());
    }
  }
  for (const revision_info& info : store->history_) {
    if (info.revision > audited) {
      if (auto r = store->append_audit(info); !r) return r.error();
    }
  }
  return store;
}

result<revision> revision_store::read(std::uint64_t n) const {
  const fs::path path = file_of(n);
  std::error_code ec;
  if (n == 0 || !fs::exists(path, ec)) {
    return make_error(errc::not_found, "no revision " + std::to_string(n));
  }
  auto text = read_text(path);
  if (!text) return text.error();
  return parse_revision(path, *text);
}

result<std::uint64_t> revision_store::append(revision_info info,
                                             std::vector<v1::Campaign> campaigns) {
  // A fleet revision keeps the fleet's number (docs/fleet.md "Distribution"), never a lower one.
  info.revision = std::max(latest_.info.revision + 1, info.revision);
  if (info.time.empty()) info.time = iso8601(static_cast<std::int64_t>(std::time(nullptr)));
  boost::json::object o = info_json(info);
  boost::json::array list;
  for (const auto& c : campaigns) list.push_back(boost::json::parse(campaign_json(c)));
  o["campaigns"] = std::move(list);
  if (auto r = replace_file_atomically(file_of(info.revision), boost::json::serialize(o) + "\n");
      !r) {
    return r.error();
  }
  history_.push_back(info);
  latest_ = revision{info, std::move(campaigns)};
  // The revision is applied from here on; a failed audit line is written again at the next
  // open (see open()).
  if (auto r = append_audit(info); !r) return r.error();
  return info.revision;
}

result<void> revision_store::append_audit(const revision_info& info) {
  const fs::path path = dir_ / "audit.log";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_failure(path, "cannot open");
  boost::json::object o{{"time", info.time},
                        {"who", info.who},
                        {"what", info.what},
                        {"revision", info.revision},
                        {"source", info.source}};
  // A torn last line (a crash mid-append) is ended first, so this line parses.
  const off_t size = ::lseek(fd, 0, SEEK_END);
  char last = '\n';
  const bool torn = size > 0 && ::pread(fd, &last, 1, size - 1) == 1 && last != '\n';
  std::string line = boost::json::serialize(o);
  line += '\n';
  const bool ok = (!torn || write_all(fd, "\n")) && write_all(fd, line) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return io_failure(path, "append");
  return {};
}

result<std::vector<std::string>> revision_store::audit() const {
  std::vector<std::string> entries;
  std::error_code ec;
  const fs::path path = dir_ / "audit.log";
  if (!fs::exists(path, ec)) return entries;
  auto text = read_text(path);
  if (!text) return text.error();
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code jec;
    const auto v = boost::json::parse(line, jec);
    if (!jec && v.is_object()) entries.push_back(line);
  }
  std::reverse(entries.begin(), entries.end());
  return entries;
}

}  // namespace bidder::config
