#include "bench/load/audience_fill.hpp"

#include <vector>

#include "bidder/audience/rocksdb_store.hpp"

namespace bidder::bench {

result<std::uint64_t> fill_audience_store(const traffic_generator& generator,
                                          const std::string& data_dir, std::int64_t now,
                                          std::ostream* progress) {
  // No cache warming: this process only writes. (One writer: a second thread measured no
  // faster, RocksDB serialises the write-ahead log.)
  auto store =
      audience::rocksdb_store::open({.path = data_dir + "/audience", .warm_cache_on_open = false});
  if (!store) return store.error();
  std::uint64_t written = 0;
  std::vector<audience::membership> memberships;
  for (std::uint64_t i = 0; i < generator.options().users; ++i) {
    const audience_member m = generator.member(i, now);
    memberships.clear();
    for (const auto& s : m.segments) {
      audience::membership one;
      one.segment = s.segment;
      one.last_seen = s.last_seen;
      memberships.push_back(std::move(one));
    }
    if (auto r = (*store)->write_user(m.key, memberships); !r) return r.error();
    ++written;
    if (progress != nullptr && written % 1'000'000 == 0) {
      *progress << "bidbench: audience store: " << written << " users written" << std::endl;
    }
  }
  // Flushed and compacted now, as a long-running store would be: otherwise the bidder's first
  // open replays the whole write-ahead log (minutes under valgrind) before serving.
  if (auto r = (*store)->compact(); !r) return r.error();
  return written;
}

}  // namespace bidder::bench
