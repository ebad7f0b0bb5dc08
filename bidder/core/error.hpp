// File: bidder/core/error.hpp
//
// One error vocabulary for the whole bidder: an `errc` code (what kind of failure, so callers
// can branch and count) plus a human message (which field, which campaign, which line, so a
// person can fix the input). Fallible functions return `bidder::result<T>`.
//
//   bidder::result<int> parse_port(std::string_view s);
//   auto r = parse_port("80a");
//   if (!r) std::cerr << r.error().message << '\n';
#pragma once

#include <boost/system/result.hpp>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace bidder {

enum class errc {
  /// The bytes are not valid JSON/protobuf, or are truncated.
  malformed_request = 1,
  /// A field has the wrong type or an out-of-range value.
  invalid_field,
  /// A required field is missing or empty (e.g. `imp`).
  missing_field,
  /// A body or decompressed body is larger than the configured limit.
  too_large,
  /// A Content-Encoding we cannot decode, or a corrupt gzip stream.
  bad_encoding,
  /// A configuration file or value is invalid.
  invalid_config,
  /// A file or database could not be read or written.
  io_error,
  /// A named thing (pricing model, campaign) does not exist.
  not_found,
  /// A name that must be unique was given twice.
  duplicate,
  /// Well-formed input that uses something the bidder does not support (e.g. an encrypted
  /// ${AUCTION_PRICE} in a notice).
  unsupported,
  /// The process ran out of memory: not the input's fault (a bid request gets a no-bid, not
  /// a 400 blaming the exchange).
  out_of_memory,
};

std::string_view to_string(errc code) noexcept;

struct error {
  errc code;
  std::string message;
};

/// Prints "code: message" (for logs and test failure messages).
std::ostream& operator<<(std::ostream& os, const error& e);

/// Raised only when `.value()` is called on a failed result; data-plane code checks instead.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

/// Discards a result on purpose; grep for ignore_error to find every swallowed error.
template <class T>
void ignore_error(const result<T>&, std::string_view /*reason*/) noexcept {}

}  // namespace bidder
