// File: bidder/core/json_text.hpp
//
// JSON string output for every writer of JSON text (the bid response, the event log, the
// report): any bytes in, a valid RFC 8259 string literal out. Quotes and backslashes are
// escaped, control characters written as \n, \r, \t or \u00XX, and bytes that are not valid
// UTF-8 replaced by U+FFFD, so no input can make the output invalid JSON. Runs of plain ASCII
// are copied at once; nothing is allocated beyond `out` growing.
//
//   std::string out;
//   bidder::append_json_string(out, "a\"b");   // out == "\"a\\\"b\""
#pragma once

#include <string>
#include <string_view>

namespace bidder {

/// Appends `text` as a quoted JSON string to `out`. Never fails; thread-safe.
void append_json_string(std::string& out, std::string_view text);
/// The same without the quotes: what goes between them (for text escaped once, kept, and
/// copied into many strings later, such as a creative's markup).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace bidder
