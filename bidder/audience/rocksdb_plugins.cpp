#include "bidder/audience/rocksdb_plugins.hpp"

#include <algorithm>
#include <vector>

#include "bidder/core/codec.hpp"

namespace bidder::audience::detail {

error io_error(std::string_view what, const rocksdb::Status& status) {
  return make_error(errc::io_error, std::string(what) + ": " + status.ToString());
}

// Merge operands: 'A' + membership (add or refresh), 'R' + varint length + segment (remove).
std::string add_operand(std::string_view segment, unix_seconds last_seen, unix_seconds expires_at) {
  std::string out = "A";
  std::string body;
  const membership_view m{segment, last_seen, expires_at};
  encode_memberships(std::span<const membership_view>(&m, 1), body);
  return out + body;
}

void event_operand(std::string_view segment, unix_seconds last_seen, unix_seconds expires_at,
                   std::string& out) {
  const membership_view m{segment, last_seen, expires_at};
  encode_memberships(std::span<const membership_view>(&m, 1), out);  // clears `out`
  out.insert(out.begin(), 'E');
}

std::string remove_operand(std::string_view segment) {
  std::string out = "R";
  put_varint(out, segment.size());
  out += segment;
  return out;
}

bool membership_merge::FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const {
  std::vector<membership_view> entries;
  if (in.existing_value != nullptr &&
      !decode_memberships(std::string_view(in.existing_value->data(), in.existing_value->size()), 0,
                          entries)) {
    entries.clear();  // a corrupt old value is replaced rather than kept forever
  }
  entries.reserve(entries.size() + in.operand_list.size());
  std::vector<membership_view> parsed;  // one operand's membership; reused (merges run on reads)
  parsed.reserve(1);
  for (const rocksdb::Slice& operand : in.operand_list) {
    std::string_view op(operand.data(), operand.size());
    if (op.empty()) continue;
    const char kind = op.front();
    op.remove_prefix(1);
    parsed.clear();
    std::string_view segment;
    if (kind == 'A' || kind == 'E') {
      if (!decode_memberships(op, 0, parsed) || parsed.size() != 1) continue;
      segment = parsed.front().segment;
    } else if (kind == 'R') {
      std::uint64_t length = 0;
      if (!get_varint(op, length) || length != op.size()) continue;
      segment = op;
    } else {
      continue;
    }
    if (kind == 'E') {
      // An event never takes a membership back in time: events arrive out of order, and a
      // pushed membership that never expires must not gain an expiry from a rule's TTL.
      const membership_view& e = parsed.front();
      auto it = std::find_if(entries.begin(), entries.end(),
                             [&](const membership_view& m) { return m.segment == segment; });
      if (it == entries.end()) {
        entries.push_back(e);
      } else {
        it->last_seen = std::max(it->last_seen, e.last_seen);
        it->expires_at =
            it->expires_at == 0 || e.expires_at == 0 ? 0 : std::max(it->expires_at, e.expires_at);
      }
      continue;
    }
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const membership_view& m) { return m.segment == segment; }),
                  entries.end());
    if (kind == 'A') entries.push_back(parsed.front());
  }
  encode_memberships(std::span<const membership_view>(entries), out->new_value);
  return true;
}

rocksdb::CompactionFilter::Decision expiry_filter::FilterV2(int, const rocksdb::Slice&,
                                                            ValueType type,
                                                            const rocksdb::Slice& value,
                                                            std::string* new_value,
                                                            std::string*) const {
  const unix_seconds now = clock_();
  if (type == ValueType::kMergeOperand) {
    std::string_view op(value.data(), value.size());
    if (op.empty() || (op.front() != 'A' && op.front() != 'E')) return Decision::kKeep;
    std::vector<membership_view> parsed;
    if (decode_memberships(op.substr(1), 0, parsed) && parsed.size() == 1 &&
        parsed.front().expires_at != 0 && parsed.front().expires_at <= now) {
      return Decision::kRemove;
    }
    return Decision::kKeep;
  }
  if (type != ValueType::kValue) return Decision::kKeep;
  std::vector<membership_view> all, live;
  const std::string_view bytes(value.data(), value.size());
  if (!decode_memberships(bytes, 0, all) || !decode_memberships(bytes, now, live)) {
    return Decision::kKeep;
  }
  if (live.empty()) return Decision::kRemove;  // expired, or left every segment
  if (live.size() == all.size()) return Decision::kKeep;
  encode_memberships(std::span<const membership_view>(live), *new_value);
  return Decision::kChangeValue;
}

std::string encode_segment(const segment_info& info) {
  std::string out;
  put_varint(out, info.members);
  put_varint(out, info.exact ? 1 : 0);
  put_varint(out, static_cast<std::uint64_t>(std::max<unix_seconds>(info.updated_at, 0)));
  put_varint(out, info.ttl_days);
  return out;
}

bool decode_segment(std::string_view bytes, segment_info& info) {
  std::uint64_t members = 0, exact = 0, updated = 0, ttl = 0;
  if (!get_varint(bytes, members) || !get_varint(bytes, exact) || !get_varint(bytes, updated) ||
      !get_varint(bytes, ttl) || !bytes.empty()) {
    return false;
  }
  info.members = members;
  info.exact = exact != 0;
  info.updated_at = static_cast<unix_seconds>(updated);
  info.ttl_days = static_cast<std::uint32_t>(ttl);
  return true;
}

bool has_segment(std::string_view value, std::string_view segment) {
  std::vector<membership_view> entries;
  if (!decode_memberships(value, 0, entries)) return false;
  return std::any_of(entries.begin(), entries.end(),
                     [&](const membership_view& m) { return m.segment == segment; });
}

}  // namespace bidder::audience::detail
