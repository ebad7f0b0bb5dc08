// File: bidder/browsing/url.hpp
//
// The form in which event rules compare pages: the host lower-cased, without scheme, user
// info, port, trailing dot or a leading "www.", then the path and query as written ("/" when
// there is none); the #fragment dropped.
//
//   canonical_url("HTTPS://WWW.Example-Auto.com:443/models/x?y#z") == "example-auto.com/models/x?y"
//   canonical_host("Example-Auto.com.") == "example-auto.com"
#pragma once

#include <string>
#include <string_view>

namespace bidder::browsing {

/// Writes the canonical form of `url` into `out`; false when it has no host.
bool canonical_url(std::string_view url, std::string& out);
/// The host of a canonical url (up to its first '/', '?').
std::string_view host_of_canonical(std::string_view canonical) noexcept;
/// Lower-cased, without a trailing dot, a port or a leading "www.".
std::string canonical_host(std::string_view host);
/// Whether `host` is `domain` or a subdomain of it (both canonical).
bool host_within(std::string_view host, std::string_view domain) noexcept;

}  // namespace bidder::browsing
