// File: bench/load/request_pool.hpp
//
// The requests a load run sends, prepared before the clock starts: every request is serialised
// once into its complete HTTP/1.1 bytes (request line, headers, body), so sending costs one
// write and no formatting. A run cycles through the pool round-robin.
//
//   auto target = parse_target("http://127.0.0.1:8080/bid");
//   auto bodies = load_request_dir("../shared/corpus/openrtb", std::chrono::milliseconds(100));
//   request_pool pool = prepare_requests(*target, *bodies);
//
// Thread-safety: a prepared pool is immutable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/traffic_generator.hpp"
#include "bidder/core/error.hpp"

namespace bidder::bench {

/// Where the load goes: an http:// URL with a numeric IP (or "localhost") and a port.
struct http_target {
  std::string host;  // numeric IPv4/IPv6 address
  std::uint16_t port = 80;
  std::string path = "/";
  std::string url;  // as given
};

/// Parses "http://127.0.0.1:8080/bid". Errors: invalid_field with the reason (no https, no
/// host names: a load generator must not depend on DNS).
[[nodiscard]] result<http_target> parse_target(std::string_view url);

/// One OpenRTB request body and where it came from.
struct request_body {
  std::string name;  // file name, or "generated #N"
  std::string json;
  /// The request's tmax (its own "tmax", else the default given to the loader).
  std::chrono::milliseconds tmax{100};
};

/// Reads every *.json file of `dir` (sorted by name). A file whose "tmax" is absent gets
/// `default_tmax`. Errors: io_error (unreadable directory or file), invalid_field (a file that
/// is not a JSON object: replaying garbage measures the 400 path, not the bidder), not_found
/// (no *.json file).
[[nodiscard]] result<std::vector<request_body>> load_request_dir(
    const std::string& dir, std::chrono::milliseconds default_tmax);

/// `count` requests from `generator`.
std::vector<request_body> generate_requests(traffic_generator& generator, std::size_t count);

struct prepared_request {
  std::string bytes;  // the whole HTTP/1.1 request
  std::chrono::milliseconds tmax{100};
};

using request_pool = std::vector<prepared_request>;

/// Serialises each body as "POST <path>" with Host, Content-Type: application/json,
/// Content-Length and x-openrtb-version: 2.6, keep-alive.
request_pool prepare_requests(const http_target& target, const std::vector<request_body>& bodies);

}  // namespace bidder::bench
