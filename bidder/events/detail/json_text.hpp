// File: bidder/events/detail/json_text.hpp
//
// Component-private. JSON string output shared by the log writer and the report: any bytes in,
// a valid JSON string out (control characters escaped, invalid UTF-8 replaced by U+FFFD).
//
//   std::string out;
//   detail::append_json_string(out, "a\"b");   // out == "\"a\\\"b\""
#pragma once

#include <string>
#include <string_view>

namespace bidder::events::detail {

/// Appends `text` as a quoted JSON string to `out`.
void append_json_string(std::string& out, std::string_view text);

}  // namespace bidder::events::detail
