// The audience keys of a request's user ids, in order (bidder/engine/request_user_keys.hpp).
#include "bidder/engine/request_user_keys.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using bidder::openrtb::user_id_kind;

namespace {

/// A request carrying every kind of user id.
bidder::openrtb::bid_request request_with_ids() {
  bidder::openrtb::bid_request r;
  r.buyeruid = "b-1";
  r.user_id = "u-1";
  r.ifa = "i-1";
  r.eids.push_back({user_id_kind::eid, "uidapi.com", "e-1"});
  r.eids.push_back({user_id_kind::eid, "liveramp.com", "e-2"});
  r.eids.push_back({user_id_kind::eid, "uidapi.com", "e-3"});
  return r;
}

std::vector<std::string> keys_of(const bidder::openrtb::bid_request& r, std::size_t max_keys,
                                 bool only_uidapi = false) {
  std::vector<std::string> keys;
  std::string scratch;
  bidder::engine::for_each_user_key(
      r, max_keys, scratch,
      [&](std::string_view source) { return !only_uidapi || source == "uidapi.com"; },
      [&](std::string_view key) { keys.emplace_back(key); });
  return keys;
}

}  // namespace

TEST_CASE("for_each_user_key visits buyeruid then user id then ifa then eids", "[engine][unit]") {
  const auto r = request_with_ids();
  CHECK(keys_of(r, 16) == std::vector<std::string>{"buyeruid:b-1", "user:u-1", "ifa:i-1",
                                                   "eid:uidapi.com:e-1", "eid:liveramp.com:e-2",
                                                   "eid:uidapi.com:e-3"});
}

TEST_CASE("for_each_user_key stops after max_keys", "[engine][unit]") {
  const auto r = request_with_ids();
  CHECK(keys_of(r, 2) == std::vector<std::string>{"buyeruid:b-1", "user:u-1"});
  CHECK(keys_of(r, 4) ==
        std::vector<std::string>{"buyeruid:b-1", "user:u-1", "ifa:i-1", "eid:uidapi.com:e-1"});
  CHECK(keys_of(r, 0).empty());
}

TEST_CASE("for_each_user_key looks up only the eid sources the filter accepts", "[engine][unit]") {
  const auto r = request_with_ids();
  CHECK(keys_of(r, 16, /*only_uidapi=*/true) ==
        std::vector<std::string>{"buyeruid:b-1", "user:u-1", "ifa:i-1", "eid:uidapi.com:e-1",
                                 "eid:uidapi.com:e-3"});
}

TEST_CASE("for_each_user_key skips empty and overlong ids without using the key budget",
          "[engine][unit]") {
  bidder::openrtb::bid_request r;
  const std::string overlong(bidder::audience::max_user_id_bytes + 1, 'x');
  const std::string longest(bidder::audience::max_user_id_bytes, 'y');
  r.buyeruid = overlong;
  r.user_id = "";
  r.ifa = longest;
  r.eids.push_back({user_id_kind::eid, "uidapi.com", overlong});
  r.eids.push_back({user_id_kind::eid, "uidapi.com", "e-1"});
  CHECK(keys_of(r, 2) == std::vector<std::string>{"ifa:" + longest, "eid:uidapi.com:e-1"});
}
