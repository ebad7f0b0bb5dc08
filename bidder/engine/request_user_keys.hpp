// File: bidder/engine/request_user_keys.hpp
//
// The audience store keys of a bid request's user, one per id the request carries, in a fixed
// order (our own synced id first, since it is the most reliable). Here, not in audience/, so
// the store knows nothing of OpenRTB.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bidder/audience/user_key.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::engine {

/// Calls `fn(std::string_view key)` for every id in `request`, at most `max_keys` times:
/// user.buyeruid, user.id, device.ifa, then the user.eids whose source `eid_wanted(source)`
/// accepts. Empty and overlong ids are skipped. `scratch` holds the key being built.
template <class EidFilter, class Fn>
void for_each_user_key(const openrtb::bid_request& request, std::size_t max_keys,
                       std::string& scratch, EidFilter&& eid_wanted, Fn&& fn) {
  std::size_t done = 0;
  auto visit = [&](audience::id_namespace ns, std::string_view source, std::string_view id) {
    if (done == max_keys || id.empty() || id.size() > audience::max_user_id_bytes) return;
    audience::make_user_key(ns, source, id, scratch);
    ++done;
    fn(std::string_view(scratch));
  };
  visit(audience::id_namespace::buyeruid, {}, request.buyeruid);
  visit(audience::id_namespace::user, {}, request.user_id);
  visit(audience::id_namespace::ifa, {}, request.ifa);
  for (const openrtb::user_id& eid : request.eids) {
    if (eid_wanted(eid.source)) visit(audience::id_namespace::eid, eid.source, eid.id);
  }
}

}  // namespace bidder::engine
