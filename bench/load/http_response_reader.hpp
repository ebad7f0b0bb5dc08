// File: bench/load/http_response_reader.hpp
//
// A minimal HTTP/1.1 response framer for the load client: finds where one response ends (status
// line, headers, then a body framed by Content-Length, chunked transfer coding, or the end of the
// connection) and extracts the status and keep-alive. It does not copy or decode anything; a
// load generator only needs to know that an answer arrived, what it was, and how long it was,
// and must stay cheaper per request than the servers it measures (Beast's general parser
// allocates every header field).
//
//   parsed_response r;
//   switch (parse_response(std::string_view(buffer, used), r)) {
//     case parse_state::complete: ... r.status, r.keep_alive, consume r.size bytes ...
//     case parse_state::incomplete: read more;  case parse_state::malformed: close;
//   }
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string_view>

namespace bidder::bench {

struct parsed_response {
  unsigned status = 0;
  bool keep_alive = true;
  /// Bytes of the whole response (headers and body) once complete.
  std::size_t size = 0;
  /// The body runs until the server closes the connection (no length, not chunked): the
  /// response is complete at end of stream, with every byte received.
  bool until_close = false;
};

enum class parse_state { incomplete, complete, malformed };

/// Largest status line plus headers accepted (the floor and the bidder send ~150 bytes).
inline constexpr std::size_t max_response_header_bytes = 64 * 1024;
/// Largest body accepted (bid responses are a few KiB).
inline constexpr std::size_t max_response_body_bytes = 16 * 1024 * 1024;

/// Looks at the bytes received so far on a connection, starting at a response boundary.
/// `complete`: `out` describes the first response; `incomplete`: more bytes are needed (with
/// `out.until_close` set when only the end of the connection can complete it); `malformed`: not
/// HTTP/1.x, or over a limit.
parse_state parse_response(std::string_view data, parsed_response& out) noexcept;

}  // namespace bidder::bench
