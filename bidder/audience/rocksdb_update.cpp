// rocksdb_store's update path: a segment update written as SST files and ingested atomically,
// from members in memory, from a stream, or from a members file made elsewhere (the fleet).
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/audience/rocksdb_store_impl.hpp"

namespace bidder::audience {

result<update_result> rocksdb_store::update_segment(std::string_view segment, update_mode mode,
                                                    std::uint32_t ttl_days,
                                                    std::span<const member> members,
                                                    unix_seconds now) {
  for (std::size_t i = 1; i < members.size(); ++i) {
    if (!(members[i - 1].key < members[i].key)) {
      return make_error(errc::invalid_field, "members are not sorted by key with unique keys");
    }
  }
  auto source = source_of(std::vector<member>(members.begin(), members.end()));
  return update_segment(segment, mode, ttl_days, *source, now);
}

result<update_result> rocksdb_store::update_segment(std::string_view segment, update_mode mode,
                                                    std::uint32_t ttl_days, member_source& members,
                                                    unix_seconds now) {
  if (!is_url_safe_name(segment)) {
    return make_error(errc::invalid_field, "segment name \"" + std::string(segment) +
                                               "\": use 1 to 128 of A-Z a-z 0-9 - _ . ~");
  }
  std::lock_guard lock(impl_->update_mutex);
  rocksdb::DB& db = *impl_->db;

  segment_info info;
  info.name = std::string(segment);
  bool known = false;
  {
    std::string bytes;
    const rocksdb::Status s = db.Get(rocksdb::ReadOptions(), impl_->segments,
                                     rocksdb::Slice(segment.data(), segment.size()), &bytes);
    if (s.ok()) {
      known = decode_segment(bytes, info);
    } else if (!s.IsNotFound()) {
      return io_error("cannot read segment " + info.name, s);
    }
  }
  if (mode == update_mode::remove && !known) {
    return make_error(errc::not_found, "segment \"" + info.name + "\" does not exist");
  }
  if (ttl_days > 0) info.ttl_days = ttl_days;
  const unix_seconds ttl_seconds = static_cast<unix_seconds>(info.ttl_days) * 86400;

  const fs::path staging = impl_->staging_dir();
  std::error_code fs_error;
  fs::create_directories(staging, fs_error);
  if (fs_error) return make_error(errc::io_error, "cannot create " + staging.string());
  struct cleanup {
    fs::path dir;
    ~cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove_staging{staging};

  // 1. The users' operands, in key order, in one SST file.
  update_result result;
  const std::string users_file = (staging / "users.sst").string();
  rocksdb::SstFileWriter users_writer(rocksdb::EnvOptions(),
                                      rocksdb::Options(impl_->db_options, impl_->users_options),
                                      impl_->users);
  rocksdb::Status s = users_writer.Open(users_file);
  if (!s.ok()) return io_error("cannot stage update", s);
  std::uint64_t entries = 0;
  std::uint64_t stored_keys = 0;
  db.GetIntProperty(impl_->users, "rocksdb.estimate-num-keys", &stored_keys);
  // The users this update writes, to warm their data alone afterwards when they are few against
  // the store (a full warm reads every user: seconds at 10 million, for a 1,000-line push).
  const std::uint64_t max_touched = std::min<std::uint64_t>(stored_keys / 16, 262'144);
  std::vector<std::string> touched;
  bool too_many_touched = false;
  auto touch = [&](std::string_view key) {
    if (too_many_touched) return;
    if (touched.size() == max_touched) {
      too_many_touched = true;
      std::vector<std::string>().swap(touched);
      return;
    }
    touched.emplace_back(key);
  };
  // The users whose cached answers this update makes stale, dropped once it is applied. Past a
  // quarter of what the user cache holds (or a million), the whole cache is dropped instead
  // and refilled in the background.
  const std::size_t max_invalidated =
      impl_->users_cache
          ? std::min<std::size_t>(std::size_t{1} << 20, impl_->users_cache->capacity() / 4)
          : 0;
  std::vector<user_cache::key_hash> invalidated;
  bool invalidate_all = false;
  auto note_invalidated = [&](std::string_view key) {
    if (!impl_->users_cache || invalidate_all) return;
    if (invalidated.size() == max_invalidated) {
      invalidate_all = true;
      std::vector<user_cache::key_hash>().swap(invalidated);
      return;
    }
    invalidated.push_back(impl_->users_cache->hash(key));
  };
  // The sampled keys this update changes, re-read into the reach sample once it is applied.
  std::vector<std::string> sampled;
  auto note_sampled = [&](std::string_view key) {
    if (impl_->sample && impl_->sample->holds(key)) sampled.emplace_back(key);
  };
  auto add = [&](const member& m) -> rocksdb::Status {
    ++entries;
    ++result.written;  // added, or refreshed
    touch(m.key);
    note_invalidated(m.key);
    note_sampled(m.key);
    const unix_seconds expires = ttl_seconds > 0 ? m.last_seen + ttl_seconds : 0;
    return users_writer.Merge(m.key, add_operand(segment, m.last_seen, expires));
  };
  auto remove = [&](std::string_view key) -> rocksdb::Status {
    ++entries;
    touch(key);
    note_invalidated(key);
    note_sampled(key);
    return users_writer.Merge(rocksdb::Slice(key.data(), key.size()), remove_operand(segment));
  };
  // Which of the file's members are already in the segment decides what to write and keeps the
  // member count exact (so re-pushing a file changes nothing, counts included). A replace, or a
  // file that is large against the store, merge-joins with a scan of all users; a small file
  // on a large store looks its members up one by one.
  const bool scan = mode == update_mode::replace || members.size() * 64 >= stored_keys;
  std::uint64_t joined = 0, left = 0;  // members new to the segment; members that left it
  auto visit = [&](const member& m, bool was_member) -> rocksdb::Status {
    switch (mode) {
      case update_mode::replace:
      case update_mode::add:
        if (!was_member) ++joined;
        return add(m);
      case update_mode::remove:
        if (!was_member) return rocksdb::Status::OK();  // not in the segment: nothing to do
        ++left;
        ++result.written;
        return remove(m.key);
    }
    return rocksdb::Status::OK();
  };
  // The stream, one member ahead, checked to be sorted and unique as it goes.
  member current, previous;
  bool have = members.next(current);
  bool out_of_order = false;
  auto advance = [&] {
    std::swap(previous, current);  // keeps both strings' buffers: no allocation per member
    have = members.next(current);
    if (have && !(previous.key < current.key)) out_of_order = true;
  };
  if (scan) {
    rocksdb::ReadOptions read;
    read.fill_cache = false;  // a full pass must not evict what bids need
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read, impl_->users));
    it->SeekToFirst();
    while (s.ok() && !out_of_order && (it->Valid() || have)) {
      const bool stored_only =
          it->Valid() && (!have || it->key().compare(rocksdb::Slice(current.key)) < 0);
      const bool in_segment =
          it->Valid() &&
          has_segment(std::string_view(it->value().data(), it->value().size()), segment);
      if (stored_only) {
        if (mode == update_mode::replace && in_segment) {  // not in the new file: it leaves
          s = remove(std::string_view(it->key().data(), it->key().size()));
          ++result.dropped;
        }
        it->Next();
        continue;
      }
      const bool same_key = it->Valid() && it->key() == rocksdb::Slice(current.key);
      s = visit(current, same_key && in_segment);
      if (same_key) it->Next();
      advance();
    }
    if (s.ok() && !it->status().ok()) s = it->status();
  } else {
    rocksdb::ReadOptions read;
    read.fill_cache = false;
    std::string value;
    while (s.ok() && !out_of_order && have) {
      const rocksdb::Status got = db.Get(read, impl_->users, current.key, &value);
      if (!got.ok() && !got.IsNotFound()) {
        s = got;
        break;
      }
      s = visit(current, got.ok() && has_segment(value, segment));
      advance();
    }
  }
  if (out_of_order) {
    return make_error(errc::invalid_field, "members are not sorted by key with unique keys");
  }
  if (const error* failed = members.failure()) return *failed;
  switch (mode) {
    case update_mode::replace:
      info.members = result.written;
      break;
    case update_mode::add:
      info.members += joined;
      break;
    case update_mode::remove:
      info.members -= std::min<std::uint64_t>(info.members, left);
      break;
  }
  info.exact = true;
  if (!s.ok()) return io_error("cannot stage update", s);
  info.updated_at = now;
  result.members = info.members;

  std::vector<rocksdb::IngestExternalFileArg> ingest;
  if (entries > 0) {
    s = users_writer.Finish();
    if (!s.ok()) return io_error("cannot stage update", s);
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = impl_->users;
    arg.external_files = {users_file};
    arg.options.move_files = true;
    ingest.push_back(arg);
  }
  // 2. The segment's figures, ingested in the same atomic call.
  const std::string segment_file = (staging / "segment.sst").string();
  rocksdb::SstFileWriter segment_writer(
      rocksdb::EnvOptions(), rocksdb::Options(impl_->db_options, impl_->segments_options),
      impl_->segments);
  s = segment_writer.Open(segment_file);
  if (s.ok()) s = segment_writer.Put(info.name, encode_segment(info));
  if (s.ok()) s = segment_writer.Finish();
  if (!s.ok()) return io_error("cannot stage update", s);
  rocksdb::IngestExternalFileArg segment_arg;
  segment_arg.column_family = impl_->segments;
  segment_arg.external_files = {segment_file};
  segment_arg.options.move_files = true;
  ingest.push_back(segment_arg);

  s = db.IngestExternalFiles(ingest);
  if (!s.ok()) return io_error("cannot apply update", s);
  if (invalidate_all) {
    impl_->invalidate_all_users();
  } else if (impl_->users_cache) {
    for (const user_cache::key_hash& h : invalidated) impl_->users_cache->invalidate(h);
  }
  impl_->refresh_sample(sampled);
  // Ingested files are not in the block cache, and bids never read the disk. When the store is
  // kept in memory (it fits in the cache), a few users written: a Get of each caches their
  // blocks, the new file's and the older files' under it. Many: the whole store is warmed
  // again. (Compactions the ingest triggers later, and a memtable it had to flush first, are
  // warmed by the warmer thread, moments after.) A store too big for the cache stays lazy: each
  // user is warmed after its first miss, off the bid path.
  if (too_many_touched) {
    if (auto warmed = warm_cache(); !warmed) return warmed.error();
  } else if (impl_->fits_in_cache() && !impl_->warm_keys(touched)) {
    return make_error(errc::io_error, "cannot warm the audience store's cache");
  }
  return result;
}

result<std::uint64_t> rocksdb_store::write_members_file(member_source& members,
                                                        const std::string& path) {
  rocksdb::Options options;
  options.compression = rocksdb::kNoCompression;
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options);
  rocksdb::Status s = writer.Open(path);
  if (!s.ok()) return io_error("cannot create " + path, s);
  member m;
  std::uint64_t count = 0;
  std::string value;
  while (members.next(m)) {
    value.clear();
    put_varint(value, static_cast<std::uint64_t>(std::max<unix_seconds>(m.last_seen, 0)));
    s = writer.Put(m.key, value);  // also refuses keys out of order
    if (!s.ok()) return io_error("cannot write " + path, s);
    ++count;
  }
  if (const error* failed = members.failure()) return *failed;
  if (count == 0) return make_error(errc::invalid_field, "no members to write");
  s = writer.Finish();
  if (!s.ok()) return io_error("cannot write " + path, s);
  return count;
}

namespace {
// Streams the members of a file made by write_members_file.
class sst_member_source final : public member_source {
 public:
  sst_member_source(std::unique_ptr<rocksdb::Iterator> it, std::uint64_t size)
      : it_(std::move(it)), size_(size) {
    it_->SeekToFirst();
  }
  std::uint64_t size() const noexcept override { return size_; }
  bool next(member& out) override {
    if (!it_->Valid()) {
      if (!it_->status().ok()) failure_ = make_error(errc::io_error, it_->status().ToString());
      return false;
    }
    std::string_view value(it_->value().data(), it_->value().size());
    std::uint64_t seen = 0;
    if (!get_varint(value, seen)) {
      failure_ = make_error(errc::invalid_field, "members file: bad value");
      return false;
    }
    out.key.assign(it_->key().data(), it_->key().size());
    out.last_seen = static_cast<unix_seconds>(seen);
    it_->Next();
    return true;
  }
  const error* failure() const noexcept override { return failure_ ? &*failure_ : nullptr; }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
  std::uint64_t size_;
  std::optional<error> failure_;
};
}  // namespace

result<update_result> rocksdb_store::update_segment_from_file(
    std::string_view segment, update_mode mode, std::uint32_t ttl_days, const std::string& path,
    std::uint64_t members, unix_seconds now) {
  rocksdb::Options options;
  rocksdb::SstFileReader reader(options);
  rocksdb::Status s = reader.Open(path);
  if (!s.ok()) return io_error("cannot open members file " + path, s);
  s = reader.VerifyChecksum();
  if (!s.ok()) return io_error("members file " + path + " is damaged", s);
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  sst_member_source source(std::unique_ptr<rocksdb::Iterator>(reader.NewIterator(read)), members);
  return update_segment(segment, mode, ttl_days, source, now);
}

}  // namespace bidder::audience
