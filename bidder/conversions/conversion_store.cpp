// The RocksDB side of conversion_store.hpp (the only file of bidder/conversions that includes
// RocksDB).
#include "bidder/conversions/conversion_store.hpp"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <system_error>

#include "bidder/core/codec.hpp"

namespace bidder::conversions {
namespace {

constexpr char user_prefix = 'u';
constexpr char bid_prefix = 'b';
constexpr char conversion_prefix = 'c';
constexpr char outbox_prefix = 'o';

error io_error(std::string_view what, const rocksdb::Status& status) {
  return make_error(errc::io_error, std::string(what) + ": " + status.ToString());
}

std::string user_key(std::uint64_t hash) {
  std::string key(1, user_prefix);
  for (int i = 7; i >= 0; --i) key += static_cast<char>((hash >> (8 * i)) & 0xff);
  return key;
}

std::string bid_key(std::string_view bid_id) {
  std::string key(1, bid_prefix);
  key += bid_id.substr(0, max_touch_id_bytes);
  return key;
}

std::string outbox_key(std::uint64_t id) {
  std::string key(1, outbox_prefix);
  for (int i = 7; i >= 0; --i) key += static_cast<char>((id >> (8 * i)) & 0xff);
  return key;
}

std::string encode_list(const std::vector<touch>& touches) {
  std::string out;
  for (const touch& t : touches) append_touch(out, t);
  return out;
}

// Touch lists merge by merge_touches: order-independent, bounded, pruned to the horizon.
class touch_merge final : public rocksdb::AssociativeMergeOperator {
 public:
  touch_merge(std::size_t max_touches, unix_seconds horizon)
      : max_touches_(max_touches), horizon_(horizon) {}
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    std::vector<touch> all;
    // A corrupt old list is replaced rather than failing every later read of the key.
    if (existing != nullptr && !read_touches({existing->data(), existing->size()}, all)) {
      all.clear();
    }
    std::vector<touch> added;
    if (read_touches({value.data(), value.size()}, added)) {
      std::move(added.begin(), added.end(), std::back_inserter(all));
    }
    *new_value = encode_list(merge_touches(std::move(all), max_touches_, horizon_));
    return true;
  }
  const char* Name() const override { return "bidder.touch_merge.v1"; }

 private:
  std::size_t max_touches_;
  unix_seconds horizon_;
};

// Drops touch lists whose newest touch is past the horizon.
class touch_expiry final : public rocksdb::CompactionFilter {
 public:
  touch_expiry(std::function<unix_seconds()> clock, unix_seconds horizon)
      : clock_(std::move(clock)), horizon_(horizon) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    return expired(key, value);
  }
  // Touches still waiting as merge operands expire alike (else an old list would need two
  // compactions: one to merge, one to drop).
  bool FilterMergeOperand(int, const rocksdb::Slice& key,
                          const rocksdb::Slice& operand) const override {
    return expired(key, operand);
  }
  const char* Name() const override { return "bidder.touch_expiry.v1"; }

 private:
  bool expired(const rocksdb::Slice& key, const rocksdb::Slice& value) const {
    if (key.empty() || (key[0] != user_prefix && key[0] != bid_prefix)) return false;
    std::vector<touch> touches;
    if (!read_touches({value.data(), value.size()}, touches)) return true;  // corrupt
    unix_seconds newest = 0;
    for (const touch& t : touches) newest = std::max(newest, t.at);
    return newest < clock_() - horizon_;
  }
  std::function<unix_seconds()> clock_;
  unix_seconds horizon_;
};

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out += s;
}

bool get_string(std::string_view& in, std::string& out) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

// Zig-zag, so negative numbers (never written, but read from hostile bytes) stay short.
std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

}  // namespace

std::string_view to_string(credit_rule rule) noexcept {
  switch (rule) {
    case credit_rule::last_click:
      return "last_click";
    case credit_rule::last_view:
      return "last_view";
    case credit_rule::unattributed:
      break;
  }
  return "unattributed";
}

std::string encode_conversion(const stored_conversion& c) {
  std::string out(1, '\x01');  // format version
  out += static_cast<char>(c.rule);
  put_varint(out, zigzag(c.at));
  put_varint(out, zigzag(c.value_micros));
  put_varint(out, zigzag(c.touch_at));
  for (const std::string* s : {&c.dedup_key, &c.conversion_id, &c.campaign_id, &c.creative_id,
                               &c.bid_id, &c.exchange, &c.currency, &c.arm}) {
    put_string(out, *s);
  }
  return out;
}

bool decode_conversion(std::string_view in, stored_conversion& out) {
  if (in.size() < 2 || in[0] != '\x01' || static_cast<unsigned char>(in[1]) > 2) return false;
  stored_conversion c;
  c.rule = static_cast<credit_rule>(in[1]);
  in.remove_prefix(2);
  std::uint64_t at = 0, value = 0, touch_at = 0;
  if (!get_varint(in, at) || !get_varint(in, value) || !get_varint(in, touch_at)) return false;
  c.at = unzigzag(at);
  c.value_micros = unzigzag(value);
  c.touch_at = unzigzag(touch_at);
  for (std::string* s : {&c.dedup_key, &c.conversion_id, &c.campaign_id, &c.creative_id, &c.bid_id,
                         &c.exchange, &c.currency, &c.arm}) {
    if (!get_string(in, *s)) return false;
  }
  if (!in.empty()) return false;
  out = std::move(c);
  return true;
}

struct conversion_store::impl {
  conversion_store_options options;
  std::unique_ptr<touch_expiry> filter;
  std::unique_ptr<rocksdb::DB> db;
  std::atomic<std::uint64_t> next_outbox{1};

  result<std::vector<touch>> read_list(const std::string& key) const {
    std::string value;
    const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &value);
    std::vector<touch> out;
    if (s.IsNotFound()) return out;
    if (!s.ok()) return io_error("cannot read touches", s);
    if (!read_touches(value, out)) return make_error(errc::io_error, "corrupt touch list");
    return out;
  }
};

conversion_store::conversion_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
conversion_store::~conversion_store() = default;

result<std::unique_ptr<conversion_store>> conversion_store::open(conversion_store_options options) {
  if (options.dir.empty()) return make_error(errc::invalid_config, "conversion store: no dir");
  if (!options.clock) options.clock = [] { return wall_now(); };
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return make_error(errc::io_error, "cannot create conversion store directory " +
                                          options.dir.string() + ": " + ec.message());
  }
  auto state = std::make_unique<impl>();
  state->options = options;
  state->filter = std::make_unique<touch_expiry>(options.clock, options.horizon);
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  db_options.merge_operator =
      std::make_shared<touch_merge>(options.max_touches_per_user, options.horizon);
  db_options.compaction_filter = state->filter.get();
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, options.dir.string(), &raw);
  if (!s.ok()) return io_error("cannot open conversion store at " + options.dir.string(), s);
  state->db.reset(raw);
  // The next outbox id follows the last one left.
  std::unique_ptr<rocksdb::Iterator> it(state->db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(outbox_key(~std::uint64_t{0}));
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == outbox_prefix) {
    std::uint64_t last = 0;
    for (int i = 1; i <= 8; ++i) last = (last << 8) | static_cast<unsigned char>(it->key()[i]);
    state->next_outbox = last + 1;
  }
  return std::unique_ptr<conversion_store>(new conversion_store(std::move(state)));
}

result<void> conversion_store::record(std::span<const touch_write> writes) {
  rocksdb::WriteBatch batch;
  std::string value;
  for (const touch_write& w : writes) {
    value.clear();
    append_touch(value, w.what);
    for (std::uint64_t user : w.users) batch.Merge(user_key(user), value);
    if (!w.what.bid_id.empty()) batch.Merge(bid_key(w.what.bid_id), value);
  }
  const rocksdb::Status s = impl_->db->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return io_error("cannot record touches", s);
  return {};
}

result<std::vector<touch>> conversion_store::touches_of_user(std::uint64_t user_hash) const {
  return impl_->read_list(user_key(user_hash));
}

result<std::vector<touch>> conversion_store::touches_of_bid(std::string_view bid_id) const {
  if (bid_id.empty()) return std::vector<touch>();
  return impl_->read_list(bid_key(bid_id));
}

result<bool> conversion_store::forget_user(std::uint64_t user_hash) {
  auto had = touches_of_user(user_hash);
  const bool any = had.has_value() ? !had->empty() : true;
  rocksdb::WriteOptions write;
  write.sync = impl_->options.sync_commits;
  const rocksdb::Status s = impl_->db->Delete(write, user_key(user_hash));
  if (!s.ok()) return io_error("cannot forget touches", s);
  return any;
}

result<std::optional<stored_conversion>> conversion_store::find_conversion(
    std::string_view dedup_key) const {
  std::string key(1, conversion_prefix);
  key += dedup_key;
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<stored_conversion>();
  if (!s.ok()) return io_error("cannot read conversions", s);
  stored_conversion c;
  if (!decode_conversion(value, c)) return make_error(errc::io_error, "corrupt conversion record");
  return std::optional<stored_conversion>(std::move(c));
}

result<std::vector<std::uint64_t>> conversion_store::commit(
    std::span<const stored_conversion> conversions) {
  std::vector<std::uint64_t> ids;
  if (conversions.empty()) return ids;
  rocksdb::WriteBatch batch;
  const std::uint64_t first = impl_->next_outbox.fetch_add(conversions.size());
  for (std::size_t i = 0; i < conversions.size(); ++i) {
    const std::string value = encode_conversion(conversions[i]);
    std::string key(1, conversion_prefix);
    key += conversions[i].dedup_key;
    batch.Put(key, value);
    batch.Put(outbox_key(first + i), value);
    ids.push_back(first + i);
  }
  rocksdb::WriteOptions write;
  write.sync = impl_->options.sync_commits;
  const rocksdb::Status s = impl_->db->Write(write, &batch);
  if (!s.ok()) return io_error("cannot store conversions", s);
  return ids;
}

result<std::vector<std::pair<std::uint64_t, stored_conversion>>> conversion_store::outbox() const {
  std::vector<std::pair<std::uint64_t, stored_conversion>> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, outbox_prefix)); it->Valid() && it->key()[0] == outbox_prefix;
       it->Next()) {
    if (it->key().size() != 9) continue;
    std::uint64_t id = 0;
    for (int i = 1; i <= 8; ++i) id = (id << 8) | static_cast<unsigned char>(it->key()[i]);
    stored_conversion c;
    if (!decode_conversion({it->value().data(), it->value().size()}, c)) {
      return make_error(errc::io_error, "corrupt outbox entry " + std::to_string(id));
    }
    out.emplace_back(id, std::move(c));
  }
  if (!it->status().ok()) return io_error("cannot read the outbox", it->status());
  return out;
}

result<void> conversion_store::clear_outbox(std::span<const std::uint64_t> ids) {
  rocksdb::WriteBatch batch;
  for (std::uint64_t id : ids) batch.Delete(outbox_key(id));
  const rocksdb::Status s = impl_->db->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return io_error("cannot clear the outbox", s);
  return {};
}

conversion_store_size conversion_store::size() const {
  conversion_store_size out;
  std::uint64_t v = 0;
  if (impl_->db->GetIntProperty("rocksdb.estimate-num-keys", &v)) out.estimated_keys = v;
  if (impl_->db->GetIntProperty("rocksdb.total-sst-files-size", &v)) out.disk_bytes = v;
  if (impl_->db->GetIntProperty("rocksdb.cur-size-all-mem-tables", &v)) out.memtable_bytes = v;
  return out;
}

result<void> conversion_store::compact() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  const rocksdb::Status s = impl_->db->CompactRange(options, nullptr, nullptr);
  if (!s.ok()) return io_error("cannot compact the conversion store", s);
  return {};
}

}  // namespace bidder::conversions
