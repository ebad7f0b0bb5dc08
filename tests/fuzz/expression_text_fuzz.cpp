// libFuzzer target: the audience expression text syntax (bidder/expression/text.hpp), which the
// admin API reads from the network. Whatever the bytes: parse_text returns a checked group or an
// error (no crash, no unbounded recursion); a parsed group prints back to text that parses to the
// same text; it compiles, and its flat fast path agrees with the node walk on a few users.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bidder/expression/program.hpp"
#include "bidder/expression/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bidder;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto g = expression::parse_text(text);
  if (!g) return 0;
  const std::string printed = expression::to_text(*g);
  auto again = expression::parse_text(printed);
  if (!again || expression::to_text(*again) != printed) std::abort();
  // Ids from the names' first byte: distinct names may share one, which is fine here.
  auto program = expression::compile(
      *g, [](std::string_view name) { return static_cast<segment_id>(name[0]); });
  if (!program) std::abort();
  if (program->empty()) return 0;
  constexpr unix_seconds now = 1'800'000'000;
  for (std::uint32_t user = 0; user < 8; ++user) {
    std::vector<segment_membership> segments;
    for (segment_id s = '-'; s <= 'z'; ++s) {
      if ((s * 2654435761u + user) % 3 == 0) segments.push_back({s, now - (s % 40) * 86'400});
    }
    const bool fast = expression::matches(*program, segments, now);
    const bool walked = expression::detail::matches_nodes(program->nodes().data(), segments, now);
    if (fast != walked) std::abort();
  }
  return 0;
}
