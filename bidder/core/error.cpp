#include "bidder/core/error.hpp"

#include <ostream>
#include <stdexcept>

namespace bidder {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::malformed_request:
      return "malformed_request";
    case errc::invalid_field:
      return "invalid_field";
    case errc::missing_field:
      return "missing_field";
    case errc::too_large:
      return "too_large";
    case errc::bad_encoding:
      return "bad_encoding";
    case errc::invalid_config:
      return "invalid_config";
    case errc::io_error:
      return "io_error";
    case errc::not_found:
      return "not_found";
    case errc::duplicate:
      return "duplicate";
    case errc::unsupported:
      return "unsupported";
    case errc::out_of_memory:
      return "out_of_memory";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, const error& e) {
  return os << to_string(e.code) << ": " << e.message;
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace bidder
