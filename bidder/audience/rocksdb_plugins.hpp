// File: bidder/audience/rocksdb_plugins.hpp
//
// The RocksDB side of the audience store's format, shared by its read path (rocksdb_store.cpp)
// and its update path (rocksdb_update.cpp): the merge operator that applies segment operands to a
// user's memberships, the compaction filter that drops expired ones, and the encodings of merge
// operands and of a segment's record. Internal to bidder/audience; includes RocksDB.
#pragma once

#include <rocksdb/compaction_filter.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/status.h>

#include <functional>
#include <string>
#include <string_view>

#include "bidder/audience/segment_store.hpp"
#include "bidder/core/error.hpp"

namespace bidder::audience::detail {

inline constexpr const char* segments_family = "segments";

error io_error(std::string_view what, const rocksdb::Status& status);

/// Merge operands: 'A' + membership (add or refresh), 'R' + varint length + segment (remove),
/// 'E' + membership (an event's: add, or keep the later last-seen and expiry of the two).
std::string add_operand(std::string_view segment, unix_seconds last_seen, unix_seconds expires_at);
/// Appends an 'E' operand to `out` (cleared first; reuses its capacity).
void event_operand(std::string_view segment, unix_seconds last_seen, unix_seconds expires_at,
                   std::string& out);
std::string remove_operand(std::string_view segment);

/// Applies operands to a user's memberships, in order; the last word on a segment wins.
class membership_merge final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override;
  const char* Name() const override { return "bidder.audience.memberships.v1"; }
};

/// Drops expired memberships (and users left with none) while RocksDB compacts.
class expiry_filter final : public rocksdb::CompactionFilter {
 public:
  explicit expiry_filter(std::function<unix_seconds()> clock) : clock_(std::move(clock)) {}
  Decision FilterV2(int, const rocksdb::Slice&, ValueType type, const rocksdb::Slice& value,
                    std::string* new_value, std::string*) const override;
  const char* Name() const override { return "bidder.audience.expiry"; }

 private:
  std::function<unix_seconds()> clock_;
};

/// A segment's record in the "segments" column family.
std::string encode_segment(const segment_info& info);
bool decode_segment(std::string_view bytes, segment_info& info);

/// Whether a user's stored value lists `segment`.
bool has_segment(std::string_view value, std::string_view segment);

}  // namespace bidder::audience::detail
