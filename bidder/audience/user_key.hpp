// File: bidder/audience/user_key.hpp
//
// Builds the store keys under which a request's user is looked up, one per id the request
// carries, in a fixed order (our own synced id first, since it is the most reliable).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bidder/openrtb/bid_request.hpp"

namespace bidder::audience {

/// Longest id we look up; longer ones are skipped (no exchange sends ids this long).
inline constexpr std::size_t max_user_id_bytes = 512;

/// Writes "<namespace>:<id>" for `id` into `out`. Namespaces: buyeruid, user, ifa, eid.
void make_user_key(const openrtb::user_id& id, std::string& out);

/// Calls `fn(std::string_view key)` for every id in `request`, at most `max_keys` times:
/// user.buyeruid, user.id, device.ifa, then the user.eids whose source `eid_wanted(source)`
/// accepts. Empty and overlong ids are skipped. `scratch` holds the key being built.
template <class EidFilter, class Fn>
void for_each_user_key(const openrtb::bid_request& request, std::size_t max_keys,
                       std::string& scratch, EidFilter&& eid_wanted, Fn&& fn) {
  std::size_t done = 0;
  auto visit = [&](const openrtb::user_id& id) {
    if (done == max_keys || id.id.empty() || id.id.size() > max_user_id_bytes) return;
    make_user_key(id, scratch);
    ++done;
    fn(std::string_view(scratch));
  };
  visit({openrtb::user_id_kind::buyeruid, {}, request.buyeruid});
  visit({openrtb::user_id_kind::user_id, {}, request.user_id});
  visit({openrtb::user_id_kind::ifa, {}, request.ifa});
  for (const openrtb::user_id& eid : request.eids) {
    if (eid_wanted(eid.source)) visit(eid);
  }
}

}  // namespace bidder::audience
