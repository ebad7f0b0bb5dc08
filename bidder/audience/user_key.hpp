// File: bidder/audience/user_key.hpp
//
// The store keys users are filed under: "<namespace>:<id>", one namespace per kind of id. The
// engine builds a request's keys from its ids (engine/request_user_keys.hpp); audience files
// name users by these keys too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bidder::audience {

/// Longest id we look up; longer ones are skipped (no exchange sends ids this long).
inline constexpr std::size_t max_user_id_bytes = 512;

/// The kinds of user id, each its own key namespace.
enum class id_namespace : std::uint8_t {
  buyeruid,  // "buyeruid:<id>": our own id for the user, synced with the exchange
  user,      // "user:<id>": the exchange's id for the user
  ifa,       // "ifa:<id>": a device's advertising id
  eid,       // "eid:<source>:<id>": an extended id, namespaced by its source domain
};

/// Writes "<namespace>:<id>" (or "eid:<source>:<id>") into `out`.
void make_user_key(id_namespace ns, std::string_view source, std::string_view id, std::string& out);

}  // namespace bidder::audience
