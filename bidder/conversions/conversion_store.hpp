// File: bidder/conversions/conversion_store.hpp
//
// What attribution needs on disk, in one RocksDB database (<data_dir>/conversions):
// - touches per pseudonymous user key ("u" + the user's 64-bit hash): the newest views and
//   clicks, at most `max_touches_per_user`, none older than `horizon` before the newest;
// - touches per bid id ("b" + bid id): what a click id or a bid id in a postback names;
// - accepted conversions ("c" + de-duplication key): the same conversion posted again is a
//   duplicate, before and after a restart;
// - the outbox ("o" + sequence): accepted conversions not yet confirmed written to the event
//   log, re-sent at start-up after a crash (at least once; readers de-duplicate).
//
// Touch lists grow with a merge operator (a write, never a read-modify-write) and shrink in
// compaction: a list whose newest touch is older than the horizon is dropped. Conversions are
// committed with a synced write: once `commit` returns, a crash loses none of them.
//
//   auto store = conversion_store::open({.dir = data_dir / "conversions"});
//   (*store)->record(writes);                         // the touch recorder's thread
//   auto touches = (*store)->touches_of_user(hash);   // attribution
//   auto ids = (*store)->commit(accepted);            // synced; then the event log; then
//   (*store)->clear_outbox(*ids);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bidder/conversions/touch.hpp"
#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"

namespace bidder::conversions {

/// One touch to record, under each of the user's hashes and under its bid id.
struct touch_write {
  touch what;
  std::vector<std::uint64_t> users;
};

/// The rule that credited a conversion (the event log's `attribution`).
enum class credit_rule : std::uint8_t { unattributed = 0, last_click = 1, last_view = 2 };
/// "unattributed", "last_click", "last_view".
std::string_view to_string(credit_rule rule) noexcept;

/// An accepted conversion as stored: what the event log's CONVERSION line says.
struct stored_conversion {
  std::string dedup_key;  // the advertiser scope and the conversion id (see ingest.hpp)
  std::string conversion_id;
  unix_seconds at = 0;
  credit_rule rule = credit_rule::unattributed;
  std::string campaign_id;  // the credited touch's; unattributed: the one named, if any
  std::string creative_id;
  std::string bid_id;
  std::string exchange;
  std::string currency;  // of value_micros: the credited touch's currency, else the postback's
  std::int64_t value_micros = 0;
  unix_seconds touch_at = 0;  // the credited touch's time (0: none)
  std::string arm;            // the credited touch's "experiment/arm"; empty: none
  friend bool operator==(const stored_conversion&, const stored_conversion&) = default;
};

struct conversion_store_options {
  std::filesystem::path dir{};
  std::size_t max_touches_per_user = 32;
  /// How long touches are kept: past the longest attribution window.
  unix_seconds horizon = 31 * 86'400;
  /// Wall clock for expiry in compaction. Default: wall_now.
  std::function<unix_seconds()> clock{};
  /// Sync conversion commits to disk (tests of the crash path may turn it off; never in
  /// production: an acknowledged conversion must survive a machine crash).
  bool sync_commits = true;
};

struct conversion_store_size {
  std::uint64_t estimated_keys = 0;
  std::uint64_t disk_bytes = 0;  // SST files
  std::uint64_t memtable_bytes = 0;
};

class conversion_store {
 public:
  /// Creates or opens the database. Errors: io_error naming the directory.
  [[nodiscard]] static result<std::unique_ptr<conversion_store>> open(
      conversion_store_options options);
  ~conversion_store();
  conversion_store(const conversion_store&) = delete;
  conversion_store& operator=(const conversion_store&) = delete;

  /// Adds touches (one write, not synced: a crash may lose the last few). Any one thread.
  [[nodiscard]] result<void> record(std::span<const touch_write> writes);
  /// The user's touches, newest first (merged and pruned as the store keeps them).
  [[nodiscard]] result<std::vector<touch>> touches_of_user(std::uint64_t user_hash) const;
  /// The touches of one bid (its view and its click), newest first.
  [[nodiscard]] result<std::vector<touch>> touches_of_bid(std::string_view bid_id) const;
  /// Deletes the user's touches. True when there were any.
  [[nodiscard]] result<bool> forget_user(std::uint64_t user_hash);

  /// The stored conversion under `dedup_key`, if any.
  [[nodiscard]] result<std::optional<stored_conversion>> find_conversion(
      std::string_view dedup_key) const;
  /// Stores the conversions and their outbox entries in one synced write; returns the outbox
  /// ids. All or nothing. Thread-safe.
  [[nodiscard]] result<std::vector<std::uint64_t>> commit(
      std::span<const stored_conversion> conversions);
  /// Outbox entries not cleared yet, oldest first.
  [[nodiscard]] result<std::vector<std::pair<std::uint64_t, stored_conversion>>> outbox() const;
  /// Removes outbox entries (their events are in the event log).
  [[nodiscard]] result<void> clear_outbox(std::span<const std::uint64_t> ids);

  conversion_store_size size() const;
  /// Runs a full compaction (expiry). Control plane and tests.
  [[nodiscard]] result<void> compact();

 private:
  struct impl;
  explicit conversion_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

/// The encoded form of a stored conversion (exposed for tests of corrupt values).
std::string encode_conversion(const stored_conversion& c);
[[nodiscard]] bool decode_conversion(std::string_view bytes, stored_conversion& out);

}  // namespace bidder::conversions
