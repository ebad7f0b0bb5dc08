// libFuzzer target: audience files (bidder/audience/file_format): the line parser fed in
// chunks whose sizes come from the first byte, id_to_key and parse_time on each line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bidder/audience/file_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bidder::audience;
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);

  constexpr bidder::unix_seconds now = 1'763'800'000;
  line_parser parser(now);
  std::size_t members = 0, errors = 0;
  auto on_member = [&](const member& m) {
    if (m.key.empty()) std::abort();
    ++members;
  };
  auto on_error = [&](line_error&& e) {
    if (e.reason.empty() || e.line == 0) std::abort();
    ++errors;
  };
  for (std::string_view rest = file; !rest.empty();) {
    const std::size_t n = std::min(chunk, rest.size());
    parser.feed(rest.substr(0, n), on_member, on_error);
    rest.remove_prefix(n);
  }
  parser.finish(on_member, on_error);
  if (members + errors > parser.lines()) std::abort();  // at most one outcome per line

  // The same lines through the free functions.
  for (std::string_view rest = file; !rest.empty();) {
    const std::size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    if (auto key = id_to_key(line); key && key->empty()) std::abort();
    (void)parse_time(line);
  }
  return 0;
}
