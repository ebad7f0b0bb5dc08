// Browsing events' memberships (docs/audience-events.md): blind merge operands, one WriteBatch.
#include "bidder/audience/rocksdb_store_impl.hpp"

namespace bidder::audience {

result<void> rocksdb_store::add_event_memberships(std::span<const event_membership> memberships,
                                                  bool sync) {
  rocksdb::WriteBatch batch;
  std::string operand;
  std::vector<std::string_view> segments;  // the batch's segments, for their records below
  for (const event_membership& m : memberships) {
    if (!is_url_safe_name(m.segment)) {
      return make_error(errc::invalid_field, "segment \"" + m.segment + "\": not a segment name");
    }
    if (m.user_key.empty() || m.user_key.size() > warm_queue::max_key_bytes) {
      return make_error(errc::invalid_field, "user key: empty or too long");
    }
    event_operand(m.segment, m.last_seen, m.expires_at, operand);
    const rocksdb::Status s = batch.Merge(impl_->users, m.user_key, operand);
    if (!s.ok()) return io_error("cannot add event memberships", s);
    if (std::find(segments.begin(), segments.end(), m.segment) == segments.end()) {
      segments.push_back(m.segment);
    }
  }
  // A segment only events feed has no record yet: one is made so listings show it. Only
  // while no push holds the update lock (a push writes its segment's record, which must not
  // be overwritten, and holds the lock for seconds, which events never wait for); a batch
  // that finds it taken leaves the record to a later batch.
  std::unique_lock lock(impl_->update_mutex, std::try_to_lock);
  std::vector<std::string_view> recorded;
  if (lock.owns_lock()) {
    for (std::string_view segment : segments) {
      if (impl_->recorded_event_segments.contains(segment)) continue;
      std::string bytes;
      const rocksdb::Slice name(segment.data(), segment.size());
      const rocksdb::Status got =
          impl_->db->Get(rocksdb::ReadOptions(), impl_->segments, name, &bytes);
      if (got.IsNotFound()) {
        segment_info info;
        info.members = 0;
        info.exact = false;
        info.updated_at = wall_now();
        const rocksdb::Status s = batch.Put(impl_->segments, name, encode_segment(info));
        if (!s.ok()) return io_error("cannot add event memberships", s);
      } else if (!got.ok()) {
        continue;  // tried again by a later batch
      }
      recorded.push_back(segment);
    }
  }
  rocksdb::WriteOptions write;
  write.sync = sync;
  const rocksdb::Status s = impl_->db->Write(write, &batch);
  if (!s.ok()) return io_error("cannot add event memberships", s);
  for (const event_membership& m : memberships) impl_->invalidate_user(m.user_key);
  for (std::string_view segment : recorded) impl_->recorded_event_segments.emplace(segment);
  // Reach estimates read the hash sample: the sampled users an event changed are re-read
  // (1 in 64 of them; off the bid path, on the events' writer thread).
  if (impl_->sample) {
    std::vector<std::string> sampled;
    for (const event_membership& m : memberships) {
      if (impl_->sample->holds(m.user_key)) sampled.push_back(m.user_key);
    }
    impl_->refresh_sample(sampled);
  }
  return {};
}

result<void> rocksdb_store::sync_wal() {
  // Syncs every live log file, not only the current one; concurrent writes carry on.
  const rocksdb::Status s = impl_->db->SyncWAL();
  if (!s.ok()) return io_error("cannot sync the write-ahead log", s);
  return {};
}

result<void> rocksdb_store::flush_for_test() {
  const rocksdb::Status s = impl_->db->Flush(rocksdb::FlushOptions(), impl_->users);
  if (!s.ok()) return io_error("cannot flush", s);
  return {};
}

}  // namespace bidder::audience
