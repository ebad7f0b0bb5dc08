#include "bidder/stream/cursor.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "bidder/core/atomic_file.hpp"

namespace bidder::stream {
namespace {

error io_failure(const std::filesystem::path& path, const char* call) {
  return make_error(errc::io_error,
                    "event stream: " + path.string() + ": " + call + ": " + std::strerror(errno));
}

}  // namespace

result<std::optional<spool_position>> load_cursor(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<spool_position>{};
    return io_failure(path, "open");
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  auto corrupt = [&] {
    return make_error(errc::io_error, "event stream: " + path.string() +
                                          ": not a cursor (want \"v1 <file> <offset>\"); "
                                          "remove it to resend the whole event log");
  };
  // "v1 <file> <offset>\n"; <file> is a spool file name, or "-" for the spool's start.
  if (!content.starts_with("v1 ") || !content.ends_with('\n')) return corrupt();
  const std::string_view body(content.data() + 3, content.size() - 4);
  const std::size_t space = body.find(' ');
  if (space == std::string_view::npos) return corrupt();
  const std::string_view file = body.substr(0, space);
  const std::string_view digits = body.substr(space + 1);
  std::uint64_t offset = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
    return corrupt();
  }
  if (file == "-") return std::optional<spool_position>{spool_position{}};
  if (!is_spool_file_name(file)) return corrupt();
  return std::optional<spool_position>{spool_position{std::string(file), offset}};
}

result<void> save_cursor(const std::filesystem::path& path, const spool_position& p) {
  const std::string text =
      "v1 " + (p.file.empty() ? std::string("-") : p.file) + " " + std::to_string(p.offset) + "\n";
  if (auto written = replace_file_atomically(path, text); !written) {
    return make_error(errc::io_error, "event stream: " + written.error().message);
  }
  return {};
}

}  // namespace bidder::stream
