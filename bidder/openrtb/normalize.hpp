// File: bidder/openrtb/normalize.hpp
//
// The one place where a decoded bid request's values get their canonical form, run by every
// decoder (JSON and protobuf) after a successful decode, so the targeting index, the pricing
// models and the event log all see the same values whatever the exchange sent:
//
// - Domains are case-insensitive (RFC 4343): site/app `domain` and each `badv` entry are
//   lower-cased and lose a trailing root dot ("News.Example.COM." is "news.example.com").
// - The site's domain, when `site.domain` is absent, is the host of `site.page`, so a block
//   list cannot be bypassed by an exchange that sends the page instead of the domain.
// - The app's bundle, when `app.bundle` is absent, comes from `app.storeurl`: the `id=`
//   parameter of a Google Play URL, or the numeric id of an Apple App Store URL ("id284882215"
//   is "284882215", the form OpenRTB 2.6 gives iOS bundles).
// - Currency codes (`cur`, `bidfloorcur` of imps and deals) are upper-cased: ISO 4217 codes are
//   upper-case, and "eur" seen in the wild means EUR. IAB category codes (`bcat`, and the
//   site/app content categories) are upper-cased: "iab2-1" is IAB2-1 (the config's are
//   upper-cased alike).
// - `device.lmt=1` (limit ad tracking) or `device.dnt=1` (do not track) clears `ifa`, as does an
//   all-zero ifa (what iOS sends when tracking is off): the device's advertising id is then not
//   used for audience look-ups, frequency-cap keys or the event log.
//
// Values that already have their canonical form (nearly all) are left where the decoder put
// them; the others are rewritten into `storage`, which the decoder owns and reuses, so a warm
// decoder normalises without allocating.
#pragma once

#include <string>
#include <string_view>

#include "bidder/openrtb/bid_request.hpp"

namespace bidder::openrtb {

/// Gives `request`'s values their canonical form (above); rewritten ones live in `storage`,
/// which must outlive the request's use (the decoder's). Never fails.
void normalize_request(bid_request& request, std::string& storage);

/// The host of a URL: "https://user@Www.Example.com:8443/a?b" gives "Www.Example.com"; empty
/// when there is none (an IP literal in brackets, a relative URL's path).
std::string_view host_of_url(std::string_view url) noexcept;

/// The bundle of an app store URL (see above), or empty.
std::string_view bundle_of_store_url(std::string_view url) noexcept;

/// `domain` lower-cased without a trailing dot: for config values (allocates).
std::string canonical_domain(std::string_view domain);

/// `code` upper-cased (currencies, IAB categories): for config values (allocates).
std::string canonical_code(std::string_view code);

}  // namespace bidder::openrtb
