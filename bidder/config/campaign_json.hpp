// File: bidder/config/campaign_json.hpp
//
// One campaign (proto/bidder/config/v1/config.proto, message Campaign) as JSON: the proto3 JSON
// mapping with the proto's field names, as config files write them, read as strictly as the
// loader reads a config file (unknown fields are errors). The campaign API and the revision
// store speak it.
//
//   auto c = bidder::config::campaign_from_json(R"({"id":"c1","status":"ACTIVE",...})");
//   std::string text = bidder::config::campaign_json(*c);
#pragma once

#include <string>
#include <string_view>

#include "bidder/config/loader.hpp"
#include "bidder/core/error.hpp"

namespace bidder::config {

/// The campaign as one line of JSON.
std::string campaign_json(const v1::Campaign& campaign);

/// Parses one campaign. Errors: invalid_config with protobuf's reason ("Cannot find field: x").
[[nodiscard]] result<v1::Campaign> campaign_from_json(std::string_view json);

/// The whole config as a config file (indented JSON) that parse() and `bidder check-config`
/// accept.
std::string config_json(const bidder_config& config);

}  // namespace bidder::config
