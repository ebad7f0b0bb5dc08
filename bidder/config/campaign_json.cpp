#include "bidder/config/campaign_json.hpp"

#include <google/protobuf/util/json_util.h>

namespace bidder::config {
namespace {

std::string to_json(const google::protobuf::Message& message, bool indent) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = indent;
  std::string out;
  // Only an Any of an unknown type fails, and a validated config holds none.
  if (auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
      !status.ok()) {
    return "{}";
  }
  return out;
}

}  // namespace

std::string campaign_json(const v1::Campaign& campaign) { return to_json(campaign, false); }

result<v1::Campaign> campaign_from_json(std::string_view json) {
  v1::Campaign campaign;
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  if (auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &campaign, strict);
      !status.ok()) {
    std::string reason(status.message());
    return make_error(errc::invalid_config, reason.empty() ? status.ToString() : reason);
  }
  return campaign;
}

std::string config_json(const bidder_config& config) { return to_json(config, true); }

}  // namespace bidder::config
