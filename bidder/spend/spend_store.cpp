#include "bidder/spend/spend_store.hpp"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <bit>
#include <cstring>
#include <filesystem>

namespace bidder::spend {
namespace {

namespace fs = std::filesystem;

constexpr const char* campaigns_family = "campaigns";
constexpr const char* reservations_family = "reservations";
constexpr const char* bids_family = "bids";
constexpr const char* frequency_family = "frequency";
constexpr char campaign_format = 1;  // first byte of a campaign value

error io_error(std::string_view what, const rocksdb::Status& status) {
  return make_error(errc::io_error, std::string(what) + ": " + status.ToString());
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

bool get_u64(std::string_view& in, std::uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(8);
  return true;
}

// Keys of the tables: big-endian, so the database iterates them in numeric order.
std::string key_bytes(std::uint64_t key) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((key >> (8 * (7 - i))) & 0xff);
  return out;
}

bool key_value(std::string_view bytes, std::uint64_t& key) {
  if (bytes.size() != 8) return false;
  key = 0;
  for (char c : bytes) key = (key << 8) | static_cast<unsigned char>(c);
  return true;
}

std::string encode_campaign(const account::saved& s) {
  std::string out(1, campaign_format);
  put_u64(out, static_cast<std::uint64_t>(s.day));
  put_u64(out, static_cast<std::uint64_t>(s.spent_day));
  put_u64(out, static_cast<std::uint64_t>(s.spent_lifetime));
  put_u64(out, s.wins);
  put_u64(out, s.bills);
  put_u64(out, s.losses);
  put_u64(out, s.clicks);
  put_u64(out, std::bit_cast<std::uint64_t>(s.pacing_rate));
  return out;
}

bool decode_campaign(std::string_view in, account::saved& s) {
  if (in.empty() || in.front() != campaign_format) return false;
  in.remove_prefix(1);
  std::uint64_t day, spent_day, lifetime, rate;
  if (!get_u64(in, day) || !get_u64(in, spent_day) || !get_u64(in, lifetime) ||
      !get_u64(in, s.wins) || !get_u64(in, s.bills) || !get_u64(in, s.losses) ||
      !get_u64(in, s.clicks) || !get_u64(in, rate) || !in.empty()) {
    return false;
  }
  s.day = static_cast<std::int64_t>(day);
  s.spent_day = static_cast<amount>(spent_day);
  s.spent_lifetime = static_cast<amount>(lifetime);
  s.pacing_rate = std::bit_cast<double>(rate);
  return true;
}

std::string encode_reservations(const account::saved& s) {
  std::string out;
  put_u64(out, s.reservations.size());
  for (const auto& [second, a] : s.reservations) {
    put_u64(out, static_cast<std::uint64_t>(second));
    put_u64(out, static_cast<std::uint64_t>(a));
  }
  return out;
}

bool decode_reservations(std::string_view in, account::saved& s) {
  std::uint64_t n = 0;
  if (!get_u64(in, n) || n > in.size() / 16) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t second, a;
    if (!get_u64(in, second) || !get_u64(in, a)) return false;
    s.reservations.emplace_back(static_cast<unix_seconds>(second), static_cast<amount>(a));
  }
  return in.empty();
}

std::string encode_frequency(const frequency_table::entry& e) {
  std::string out;
  put_u64(out, e.hour);
  put_u64(out, e.day);
  put_u64(out, e.week);
  return out;
}

bool decode_frequency(std::string_view in, frequency_table::entry& e) {
  return get_u64(in, e.hour) && get_u64(in, e.day) && get_u64(in, e.week) && in.empty();
}

// Drops bid states past the max age and frequency counts of past weeks while RocksDB
// compacts: both would be skipped at load anyway.
class expiry_filter final : public rocksdb::CompactionFilter {
 public:
  expiry_filter(bool bids, unix_seconds max_age, std::function<unix_seconds()> clock)
      : bids_(bids), max_age_(max_age), clock_(std::move(clock)) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    std::string_view in(value.data(), value.size());
    const unix_seconds now = clock_();
    if (bids_) {
      std::uint64_t state = 0;
      if (!get_u64(in, state)) return false;
      return issued_of(state) + max_age_ + 60 < now;
    }
    frequency_table::entry e;
    if (!decode_frequency(in, e)) return false;
    return (e.week >> 32) != static_cast<std::uint32_t>(week_of(now));
  }
  const char* Name() const override {
    return bids_ ? "bidder.spend.bids" : "bidder.spend.frequency";
  }

 private:
  bool bids_;
  unix_seconds max_age_;
  std::function<unix_seconds()> clock_;
};

}  // namespace

struct spend_store::impl {
  std::unique_ptr<expiry_filter> bids_filter;
  std::unique_ptr<expiry_filter> frequency_filter;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* campaigns = nullptr;
  rocksdb::ColumnFamilyHandle* reservations = nullptr;
  rocksdb::ColumnFamilyHandle* bids = nullptr;
  rocksdb::ColumnFamilyHandle* frequency = nullptr;
  rocksdb::ColumnFamilyHandle* default_family = nullptr;

  ~impl() {
    if (!db) return;
    for (auto* h : {campaigns, reservations, bids, frequency, default_family}) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    db->Close().PermitUncheckedError();
  }
};

spend_store::spend_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
spend_store::~spend_store() = default;

result<std::unique_ptr<spend_store>> spend_store::open(const spend_store_options& options) {
  std::error_code fs_error;
  fs::create_directories(options.path, fs_error);
  if (fs_error) {
    return make_error(errc::io_error, "cannot create spend store directory " + options.path + ": " +
                                          fs_error.message());
  }
  auto state = std::make_unique<impl>();
  state->bids_filter = std::make_unique<expiry_filter>(true, options.notice_max_age, options.clock);
  state->frequency_filter =
      std::make_unique<expiry_filter>(false, options.notice_max_age, options.clock);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  rocksdb::ColumnFamilyOptions plain;
  rocksdb::ColumnFamilyOptions bids = plain;
  bids.compaction_filter = state->bids_filter.get();
  rocksdb::ColumnFamilyOptions frequency = plain;
  frequency.compaction_filter = state->frequency_filter.get();
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, plain},
      {campaigns_family, plain},
      {reservations_family, plain},
      {bids_family, bids},
      {frequency_family, frequency}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!s.ok()) return io_error("cannot open spend store at " + options.path, s);
  state->db.reset(raw);
  state->default_family = handles[0];
  state->campaigns = handles[1];
  state->reservations = handles[2];
  state->bids = handles[3];
  state->frequency = handles[4];
  return std::unique_ptr<spend_store>(new spend_store(std::move(state)));
}

result<void> spend_store::write(const spend_batch& batch, bool sync) {
  rocksdb::WriteBatch wb;
  rocksdb::Status s;
  for (const auto& [id, saved] : batch.campaigns) {
    if (s.ok()) s = wb.Put(impl_->campaigns, id, encode_campaign(saved));
    if (s.ok()) {
      s = saved.reservations.empty() ? wb.Delete(impl_->reservations, id)
                                     : wb.Put(impl_->reservations, id, encode_reservations(saved));
    }
  }
  for (const journal::bid_record& r : batch.bids) {
    std::string value;
    put_u64(value, r.state);
    if (s.ok()) s = wb.Put(impl_->bids, key_bytes(r.key), value);
  }
  for (const frequency_table::entry& e : batch.frequency) {
    if (s.ok()) s = wb.Put(impl_->frequency, key_bytes(e.key), encode_frequency(e));
  }
  if (!s.ok()) return io_error("cannot stage spend state", s);
  rocksdb::WriteOptions write;
  write.sync = sync;
  s = impl_->db->Write(write, &wb);
  if (!s.ok()) return io_error("cannot write spend state", s);
  return {};
}

result<spend_snapshot> spend_store::load() {
  spend_snapshot out;
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  auto scan = [&](rocksdb::ColumnFamilyHandle* family, auto&& fn) -> result<void> {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      fn(std::string_view(it->key().data(), it->key().size()),
         std::string_view(it->value().data(), it->value().size()));
    }
    if (!it->status().ok()) return io_error("cannot read spend state", it->status());
    return {};
  };
  std::unordered_map<std::string, std::size_t> index;
  if (auto r = scan(impl_->campaigns,
                    [&](std::string_view key, std::string_view value) {
                      account::saved saved;
                      if (!decode_campaign(value, saved)) return;
                      index[std::string(key)] = out.campaigns.size();
                      out.campaigns.emplace_back(std::string(key), std::move(saved));
                    });
      !r) {
    return r.error();
  }
  if (auto r = scan(impl_->reservations,
                    [&](std::string_view key, std::string_view value) {
                      auto it = index.find(std::string(key));
                      if (it == index.end()) return;
                      account::saved& saved = out.campaigns[it->second].second;
                      if (!decode_reservations(value, saved)) saved.reservations.clear();
                    });
      !r) {
    return r.error();
  }
  if (auto r = scan(impl_->bids,
                    [&](std::string_view key, std::string_view value) {
                      journal::bid_record rec;
                      if (key_value(key, rec.key) && get_u64(value, rec.state) && value.empty()) {
                        out.bids.push_back(rec);
                      }
                    });
      !r) {
    return r.error();
  }
  if (auto r = scan(impl_->frequency,
                    [&](std::string_view key, std::string_view value) {
                      frequency_table::entry e;
                      if (key_value(key, e.key) && decode_frequency(value, e)) {
                        out.frequency.push_back(e);
                      }
                    });
      !r) {
    return r.error();
  }
  return out;
}

void restore(ledger& into, const spend_snapshot& state, unix_seconds now) {
  for (const auto& [id, saved] : state.campaigns) into.open(id).restore(saved, now);
  for (const journal::bid_record& r : state.bids) into.bids().restore(r.key, r.state, now);
  for (const frequency_table::entry& e : state.frequency) into.frequency().restore(e, now);
}

}  // namespace bidder::spend
