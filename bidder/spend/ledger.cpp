#include "bidder/spend/ledger.hpp"

namespace bidder::spend {

void journal::add(const bid_record& r) {
  std::lock_guard lock(mutex_);
  if (bids_.size() >= max_records_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bids_.push_back(r);
}

void journal::add(const frequency_table::entry& e) {
  if (e.key == 0) return;
  std::lock_guard lock(mutex_);
  if (frequency_.size() >= max_records_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  frequency_.push_back(e);
}

void journal::take(std::vector<bid_record>& bids, std::vector<frequency_table::entry>& frequency) {
  bids.clear();
  frequency.clear();
  std::lock_guard lock(mutex_);
  bids.swap(bids_);
  frequency.swap(frequency_);
}

ledger::ledger(const ledger_options& options)
    : options_(options),
      bids_(options.notice_table_slots, options.notice_max_age),
      frequency_(options.frequency_table_slots),
      journal_(options.max_journal_records) {}

account& ledger::open(std::string_view campaign_id) {
  std::lock_guard lock(mutex_);
  if (auto it = by_id_.find(std::string(campaign_id)); it != by_id_.end()) return *it->second;
  account& a = accounts_.emplace_back(std::string(campaign_id), options_.reservation_ttl,
                                      options_.fleet ? 0 : no_fleet_limit);
  by_id_.emplace(a.id(), &a);
  return a;
}

account* ledger::find(std::string_view campaign_id) {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(std::string(campaign_id));
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<account*> ledger::accounts() {
  std::lock_guard lock(mutex_);
  std::vector<account*> out;
  out.reserve(accounts_.size());
  for (account& a : accounts_) out.push_back(&a);
  return out;
}

std::vector<std::pair<account*, budget>> ledger::budgets() {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<account*, budget>> out;
  for (account& a : accounts_) {
    const auto it = budgets_.find(&a);
    if (it != budgets_.end()) out.emplace_back(&a, it->second);
  }
  return out;
}

void ledger::set_budgets(const std::vector<std::pair<account*, budget>>& budgets) {
  std::lock_guard lock(mutex_);
  budgets_.clear();
  for (const auto& [a, b] : budgets) budgets_[a] = b;
}

void ledger::tick(unix_seconds now) {
  std::vector<std::pair<account*, budget>> work;
  {
    std::lock_guard lock(mutex_);
    work.reserve(accounts_.size());
    for (account& a : accounts_) {
      auto it = budgets_.find(&a);
      work.emplace_back(&a, it == budgets_.end() ? budget{} : it->second);
    }
  }
  for (auto& [a, b] : work) a->tick(b, now);
}

}  // namespace bidder::spend
