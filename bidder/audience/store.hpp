// File: bidder/audience/store.hpp
//
// Where users' audience segments live. The bid path asks `lookup()` for one user key at a time;
// the audience-file pipeline (docs/audience.md) writes through rocksdb_store's segment
// updates, and the demo through `write_user()`.
//
// User keys are "<namespace>:<id>" (see user_key.hpp): "user:<exchange user id>",
// "buyeruid:<id>", "ifa:<device ad id>", "eid:<source>:<id>".
//
//   std::vector<audience::membership_view> segments;
//   switch (store.lookup("user:abc", now, segments)) { case lookup_status::found: ... }
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"

namespace bidder::audience {

/// One membership as read from the store; `segment` views into the store's per-thread buffer
/// and stays valid until the same thread's next lookup().
struct membership_view {
  std::string_view segment;
  unix_seconds last_seen = 0;
  unix_seconds expires_at = 0;  // 0: never
};

/// One membership to write.
struct membership {
  std::string segment;
  unix_seconds last_seen = 0;
  unix_seconds expires_at = 0;  // 0: never
};

/// One member of a segment as an audience file gives it: the store key and the last-seen time.
struct member {
  std::string key;
  unix_seconds last_seen = 0;
  friend bool operator==(const member&, const member&) = default;
};

enum class lookup_status : std::uint8_t {
  found,
  not_found,
  /// The data is not in memory and reading it would block; the bid treats the user as unknown.
  not_in_memory,
  /// The stored value is corrupt or the store failed; counted, the bid treats the user as unknown.
  failed,
};

class store {
 public:
  virtual ~store() = default;

  /// Bid path: appends the user's memberships that have not expired at `now` to `out`. Never
  /// blocks on disk I/O, never throws, thread-safe.
  virtual lookup_status lookup(std::string_view user_key, unix_seconds now,
                               std::vector<membership_view>& out) noexcept = 0;

  /// Bid path: a hint that lookup(user_key) comes soon. A store may start loading what that
  /// will read (without waiting for it), so that other work hides the memory's latency.
  virtual void prefetch(std::string_view user_key) const noexcept {}

  /// Control plane: replaces every membership of `user_key`. Thread-safe.
  [[nodiscard]] virtual result<void> write_user(std::string_view user_key,
                                                std::span<const membership> memberships) = 0;

  /// Control plane: true when the store holds no user at all.
  [[nodiscard]] virtual result<bool> is_empty() = 0;
};

/// The stored value of one user: for each membership, varint length + segment name + varint
/// last-seen seconds + varint expiry seconds (0: never). Exposed for the store and its tests.
void encode_memberships(std::span<const membership> memberships, std::string& out);
void encode_memberships(std::span<const membership_view> memberships, std::string& out);
/// Appends the decoded memberships not expired at `now` (now = 0: all) to `out`; false (and
/// `out` unchanged) on corrupt bytes.
bool decode_memberships(std::string_view value, unix_seconds now,
                        std::vector<membership_view>& out) noexcept;

}  // namespace bidder::audience
