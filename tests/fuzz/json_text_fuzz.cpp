// libFuzzer target: JSON string output (bidder/core/json_text): whatever the bytes, the output
// must parse as one JSON string (Boost.JSON), and valid UTF-8 without changes must round-trip.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bidder/core/json_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string out = "x";  // appends: what is there already stays
  bidder::append_json_string(out, text);
  if (out.size() < 3 || out[0] != 'x') std::abort();
  boost::json::error_code ec;
  const boost::json::value v = boost::json::parse(std::string_view(out).substr(1), ec);
  if (ec || !v.is_string()) std::abort();
  // Without a replacement character (U+FFFD) in the output, nothing was replaced.
  const std::string_view back(v.as_string());
  if (back.find("\xEF\xBF\xBD") == std::string_view::npos && back != text) std::abort();
  return 0;
}
