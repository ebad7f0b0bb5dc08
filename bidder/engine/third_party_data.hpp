// File: bidder/engine/third_party_data.hpp
//
// Third-party segments in bid requests (OpenRTB user.data and content.data) turned into the
// same segment memberships the audience store gives, so targeting expressions and pricing models
// read them like first-party segments. A configured provider (config DataProvider) says which
// Data objects are its own; a campaign names its segment "3p:<provider id>:<segment id>".
//
// Only segments some campaign or model names are kept: the snapshot compiles, per provider, a
// map from the segment ids it sends to dictionary ids, so a request's other segments cost one
// hash look-up each and nothing else. Their last-seen time is the request's: the exchange sends
// what is true now.
//
//   auto data = third_party_data::compile(config.data_providers(), snap.segments);
//   data->collect(request, now, memberships);  // bid path: no allocation once warm
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/config/v1/config.pb.h"
#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/core/string_map.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::engine {

/// The prefix of third-party segment names; first-party names cannot hold ':'.
inline constexpr std::string_view third_party_prefix = "3p:";

class third_party_data {
 public:
  /// Compiles the providers against the names in `segments` (every campaign's and model's,
  /// so call it once they are all interned). Errors: invalid_config for a "3p:" name whose
  /// provider is not configured or whose segment id is empty, naming both.
  [[nodiscard]] static result<third_party_data> compile(
      const google::protobuf::RepeatedPtrField<config::v1::DataProvider>& providers,
      const segment_dictionary& segments);

  /// True when no campaign or model names a third-party segment (the bid path skips them).
  bool empty() const noexcept { return used_ == 0; }

  /// Bid path: appends a membership (last seen `now`) for each segment of the request that a
  /// provider sends and a campaign or model names. Duplicates are left for the caller's
  /// sort-and-unique. No allocation beyond `out`'s capacity.
  void collect(const openrtb::bid_request& request, unix_seconds now,
               std::vector<segment_membership>& out) const;

 private:
  struct provider {
    std::string id;
    std::vector<std::string> data_ids;    // sorted
    std::vector<std::string> data_names;  // lower-case, sorted
    std::vector<std::int32_t> segtax;     // sorted; empty: any
    bool from_user = true;
    bool from_content = true;
    string_map<segment_id> segments;  // segment id as sent -> dictionary id
    bool sends(const openrtb::data_segment& s) const noexcept;
  };
  std::vector<provider> providers_;
  std::size_t used_ = 0;  // segments named across providers
};

}  // namespace bidder::engine
