#include "bidder/spend/keeper.hpp"

#include "bidder/core/background_thread.hpp"

namespace bidder::spend {

keeper::keeper(ledger& ledger, spend_store* store, keeper_options options)
    : ledger_(ledger), store_(store), options_(std::move(options)) {}

keeper::~keeper() { stop(); }

void keeper::start() {
  ledger_.tick(options_.clock());
  thread_ = std::thread([this] {
    yield_to_bid_threads();
    run();
  });
}

void keeper::run() {
  unsigned round = 0;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const bool sync = options_.sync_every > 0 && ++round % options_.sync_every == 0;
    // A failed write is counted (metrics); the accounts are written whole again next round.
    if (auto r = run_once(options_.clock(), sync); !r) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

void keeper::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;  // never started: its caller drives run_once()
  thread_.join();
  if (auto r = run_once(options_.clock(), /*sync=*/true); !r) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

result<void> keeper::run_once(unix_seconds now, bool sync) {
  std::lock_guard lock(round_mutex_);
  ledger_.tick(now);
  if (store_ == nullptr) return {};
  // Journal first, accounts second: an account saved after its notice's record is taken
  // already includes that notice, so the disk never holds a bid state without its spend.
  ledger_.changes().take(batch_.bids, batch_.frequency);
  batch_.campaigns.clear();
  pending_.clear();
  for (account* a : ledger_.accounts()) {
    account::saved state = a->save(now);
    auto it = written_.find(a);
    if (it != written_.end() && it->second == state) continue;
    batch_.campaigns.emplace_back(a->id(), state);
    pending_.emplace_back(a, std::move(state));
  }
  auto written = store_->write(batch_, sync);
  if (!written) {
    written_.clear();  // unknown what reached the disk: every account is written next round
    return written;
  }
  for (auto& [a, state] : pending_) written_[a] = std::move(state);
  writes_.fetch_add(1, std::memory_order_relaxed);
  accounts_written_.fetch_add(pending_.size(), std::memory_order_relaxed);
  return written;
}

}  // namespace bidder::spend
