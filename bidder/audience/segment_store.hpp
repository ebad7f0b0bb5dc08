// File: bidder/audience/segment_store.hpp
//
// What the control plane (the admin API, the importer) asks of an audience store beyond the bid
// path's look-ups: segment updates, listings, a user's memberships, forgetting a user. An
// interface, so those callers do not depend on the RocksDB store (rocksdb_store.hpp) that
// implements it. Every call here is control plane: it may block on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/audience/member_sorter.hpp"
#include "bidder/audience/store.hpp"
#include "bidder/expression/expression.hpp"

namespace bidder::audience {

enum class update_mode : std::uint8_t {
  replace,  // the segment becomes exactly the given members
  add,      // the given members join the segment (a member already in it gets the new times)
  remove,   // the given members leave the segment
};
std::string_view to_string(update_mode mode) noexcept;
std::optional<update_mode> parse_update_mode(std::string_view text) noexcept;

struct segment_info {
  std::string name;
  std::uint64_t members = 0;
  /// True when the count was kept exactly (always, since updates check who is already in the
  /// segment; kept for stores written by older versions).
  bool exact = true;
  unix_seconds updated_at = 0;
  std::uint32_t ttl_days = 0;  // 0: memberships never expire
};

struct update_result {
  std::uint64_t written = 0;  // members added or refreshed (replace, add), or removed (remove)
  std::uint64_t dropped = 0;  // replace: former members not in the new file, removed
  std::uint64_t members = 0;  // the segment's member count afterwards (see segment_info::exact)
};

/// One membership a browsing event adds (docs/audience-events.md).
struct event_membership {
  std::string user_key;  // a store key ("buyeruid:...", user_key.hpp)
  std::string segment;
  unix_seconds last_seen = 0;
  unix_seconds expires_at = 0;  // 0: never
};

/// How estimate_reach() counts.
enum class estimate_method : std::uint8_t {
  automatic,  // exact when the store holds at most exact_scan_max_keys keys, else the sample
  exact,      // a scan of every stored key (about 1 s per 3 million keys: control plane)
  sample,     // the hash sample (reach_sample.hpp), whatever the store's size
};

/// Stores up to this many keys are counted exactly by estimate_method::automatic: their scan
/// takes under ~100 ms.
inline constexpr std::uint64_t exact_scan_max_keys = 250'000;

/// How many stored keys match an audience expression. A user stored under several keys
/// (user:, ifa:, ...) counts once per key; a key whose memberships all expired or were removed
/// does not count (nor is it in stored_keys).
struct reach_estimate {
  std::uint64_t matched = 0;        // keys that match: counted, or the sample's estimate
  std::uint64_t low = 0, high = 0;  // 95% interval of `matched` (both equal to it when exact)
  bool exact = false;
  std::uint64_t stored_keys = 0;      // keys in the store (estimated the same way when not exact)
  std::uint64_t sampled_keys = 0;     // keys in the sample (sample only)
  std::uint64_t sampled_matched = 0;  // of them, those that match (sample only)
  std::uint64_t scale = 1;            // each key is in the sample with probability 1/scale
};

class segment_store : public store {
 public:
  /// Applies one audience push atomically. `members` must be sorted by key with unique keys.
  /// `ttl_days` > 0 makes each membership expire that many days after its last-seen time (0:
  /// keep the segment's TTL, or never). Errors: invalid_field (bad segment name or unsorted
  /// members), not_found (remove from a segment that does not exist), io_error. On any error
  /// nothing is applied. One update at a time (serialised inside).
  [[nodiscard]] virtual result<update_result> update_segment(std::string_view segment,
                                                             update_mode mode,
                                                             std::uint32_t ttl_days,
                                                             std::span<const member> members,
                                                             unix_seconds now) = 0;
  /// The same from a stream (member_sorter.hpp), so memory stays bounded for any file size.
  /// A stream out of order, or one that fails, applies nothing.
  [[nodiscard]] virtual result<update_result> update_segment(std::string_view segment,
                                                             update_mode mode,
                                                             std::uint32_t ttl_days,
                                                             member_source& members,
                                                             unix_seconds now) = 0;
  /// Applies a members file made by rocksdb_store::write_members_file, as update_segment would.
  [[nodiscard]] virtual result<update_result> update_segment_from_file(
      std::string_view segment, update_mode mode, std::uint32_t ttl_days, const std::string& path,
      std::uint64_t members, unix_seconds now) = 0;
  /// Adds event memberships blindly (merge operands: no read of the users), in one atomic
  /// write; a membership the user already has keeps the later last-seen time and the later
  /// expiry (never expiring wins). `sync`: the write-ahead log is synced before the return.
  /// Segment member counts do not change (they count pushed members; docs/audience-events.md);
  /// a segment without a record gets one (0 members, not exact) so listings show it.
  /// Errors: invalid_field (a bad segment name or an empty key; nothing written), io_error
  /// (nothing written). Thread-safe; never waits for a push.
  [[nodiscard]] virtual result<void> add_event_memberships(
      std::span<const event_membership> memberships, bool sync) = 0;
  /// Syncs the write-ahead log (fsync): every write that returned before the call, unsynced
  /// event memberships included, survives a power loss once this returns. Thread-safe; blocks
  /// on the disk, never on a push. Errors: io_error.
  [[nodiscard]] virtual result<void> sync_wal() = 0;
  /// Every segment with its figures, sorted by name.
  [[nodiscard]] virtual result<std::vector<segment_info>> segments() = 0;
  /// A user's memberships (reads the disk if needed), expired ones excluded.
  [[nodiscard]] virtual result<std::vector<membership>> user_memberships(std::string_view user_key,
                                                                         unix_seconds now) = 0;
  /// Deletes the user from every segment at once. Returns whether the user existed.
  [[nodiscard]] virtual result<bool> forget_user(std::string_view user_key) = 0;
  /// Compacts everything: drops expired memberships and forgotten users from disk now.
  [[nodiscard]] virtual result<void> compact() = 0;
  /// The store's directory (pushes sort inside it, so their runs share its disk).
  virtual const std::string& path() const noexcept = 0;

  /// How many stored keys match `g` at `now` (expired memberships do not count). Errors:
  /// invalid_field (`g` fails expression::check), unsupported (no sample, method sample),
  /// io_error. Blocks for the scan when exact.
  [[nodiscard]] virtual result<reach_estimate> estimate_reach(const expression::group& g,
                                                              estimate_method method,
                                                              unix_seconds now) {
    (void)g, (void)method, (void)now;
    return make_error(errc::unsupported, "this audience store cannot estimate reach");
  }

  struct cache_usage {
    std::size_t block_cache_bytes = 0, block_cache_capacity = 0;
    std::size_t row_cache_bytes = 0, row_cache_capacity = 0;  // 0 when there is no row cache
    std::size_t user_cache_bytes = 0;                         // the user cache's memory (0: none)
    std::size_t user_cache_capacity = 0;                      // users it can hold
  };
  /// Bytes held in the caches now (for metrics and benchmarks).
  virtual cache_usage caches() const noexcept = 0;
};

}  // namespace bidder::audience
