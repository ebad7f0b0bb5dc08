// File: bidder/config/loader.hpp
//
// Reads and validates the bidder's config (proto/bidder/config/v1/config.proto, written as JSON
// with optional // and /* */ comments). Every error names where it is: the file with line and
// column for JSON syntax, the campaign id and field for everything else, e.g.
//   campaign "auto-1": targeting.audience.all_of[0].segment: missing
// Defaults documented in the proto are filled in, so readers never see a zero that means
// "default".
//
//   auto config = bidder::config::load_file("campaigns.json");
//   if (!config) { std::cerr << config.error().message; return 2; }
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/error.hpp"

namespace bidder::config {

using bidder_config = bidder::config::v1::BidderConfig;

/// The placeholder a creative's markup may contain for its signed click-tracking URL; each bid
/// replaces it (docs/notices-and-spend.md). Needs the creative's landing_url.
inline constexpr std::string_view click_url_macro = "{{CLICK_URL}}";

/// The id of the one exchange a config without `exchanges` has (POST /bid).
inline constexpr std::string_view default_exchange_id = "default";
/// Most exchanges a config lists: each is a bit in a campaign's 64-bit exchange mask (engine).
inline constexpr int max_exchanges = 64;
/// The id of the notice key a config without `notice_keys` signs with (notice_key_file, or a
/// random key).
inline constexpr std::string_view default_notice_key_id = "0";

/// Parses and validates `json`. `source` names it in messages (a path or "<demo>").
/// Errors: invalid_config.
[[nodiscard]] result<std::shared_ptr<const bidder_config>> parse(std::string_view json,
                                                                 std::string_view source);

/// Fills in the defaults and runs every check parse() runs, on a config built in code (the
/// campaign API's candidate: the file's settings with a revision's campaigns). Errors:
/// invalid_config, prefixed with `source`.
[[nodiscard]] result<std::shared_ptr<const bidder_config>> validate(bidder_config config,
                                                                    std::string_view source);

/// Where a validation error points: "campaign.max_cpm", "campaign.creatives[0].markup",
/// "experiments[0].campaigns", or "campaign" / "" when the message names no field.
struct field_error {
  std::string field;
  std::string message;
};

/// Splits an invalid_config message of parse() or validate() into its field path and reason.
field_error field_of(std::string_view message);

/// Reads `path` and calls parse(). Errors: io_error (unreadable file), invalid_config.
[[nodiscard]] result<std::shared_ptr<const bidder_config>> load_file(const std::string& path);

/// The embedded demo config (deploy/demo/config.json, compiled in).
std::string_view demo_config_json() noexcept;

}  // namespace bidder::config
