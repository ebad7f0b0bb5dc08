#include "bidder/conversions/touch_recorder.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "bidder/core/background_thread.hpp"

namespace bidder::conversions {

touch_recorder::touch_recorder(conversion_store& store, std::size_t capacity,
                               std::chrono::milliseconds idle_wait)
    : store_(store), idle_wait_(idle_wait), queue_(capacity) {
  writer_ = std::thread([this] { run(); });
}

touch_recorder::~touch_recorder() { stop(); }

bool touch_recorder::offer(touch_kind kind, unix_seconds at, std::int64_t price_micros,
                           const touch_ids& ids, std::span<const std::uint64_t> users) noexcept {
  if (!accepting_.load(std::memory_order_acquire)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const bool pushed = queue_.try_push([&](slot& s) {
    s.at = at;
    s.price_micros = price_micros;
    s.kind = kind;
    s.user_count = static_cast<std::uint8_t>(std::min(users.size(), max_users));
    for (std::size_t i = 0; i < s.user_count; ++i) s.users[i] = users[i];
    char* text = s.text;
    std::size_t i = 0;
    for (std::string_view id :
         {ids.bid_id, ids.campaign_id, ids.creative_id, ids.exchange, ids.currency}) {
      const std::size_t n = std::min(id.size(), max_touch_id_bytes);
      if (n != 0) std::memcpy(text, id.data(), n);  // an empty id may have a null data()
      s.length[i++] = static_cast<std::uint8_t>(n);
      text += n;
    }
    // The arm as "experiment/arm" (each id is at most 64 bytes: config/loader.cpp).
    std::size_t arm_bytes = 0;
    if (!ids.experiment.empty() && !ids.arm.empty()) {
      const std::size_t x = std::min(ids.experiment.size(), std::size_t{63});
      const std::size_t a = std::min(ids.arm.size(), max_touch_id_bytes - x - 1);
      std::memcpy(text, ids.experiment.data(), x);
      text[x] = '/';
      std::memcpy(text + x + 1, ids.arm.data(), a);
      arm_bytes = x + 1 + a;
    }
    s.length[5] = static_cast<std::uint8_t>(arm_bytes);
  });
  if (!pushed) dropped_.fetch_add(1, std::memory_order_relaxed);
  return pushed;
}

bool touch_recorder::drain() {
  std::vector<touch_write> batch;
  while (batch.size() < 512) {
    slot* s = queue_.front();
    if (s == nullptr) break;
    touch_write w;
    w.what.kind = s->kind;
    w.what.at = s->at;
    w.what.price_micros = s->price_micros;
    const char* text = s->text;
    std::string* fields[] = {&w.what.bid_id,   &w.what.campaign_id, &w.what.creative_id,
                             &w.what.exchange, &w.what.currency,    &w.what.arm};
    for (std::size_t i = 0; i < 6; ++i) {
      fields[i]->assign(text, s->length[i]);
      text += s->length[i];
    }
    w.users.assign(s->users, s->users + s->user_count);
    queue_.pop();
    batch.push_back(std::move(w));
  }
  if (batch.empty()) return false;
  if (store_.record(batch)) {
    recorded_.fetch_add(batch.size(), std::memory_order_relaxed);
  } else {
    write_errors_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(mutex_);
    done_ += batch.size();
  }
  progress_.notify_all();
  return true;
}

void touch_recorder::run() noexcept {
  yield_to_bid_threads(background_priority::low);
  for (;;) {
    while (drain()) {
    }
    std::unique_lock lock(mutex_);
    if (stopping_) break;
    wake_.wait_for(lock, idle_wait_);
  }
  while (drain()) {
  }
  {
    std::lock_guard lock(mutex_);
    exited_ = true;
  }
  progress_.notify_all();
}

void touch_recorder::flush() {
  const std::uint64_t target = queue_.claimed();
  std::unique_lock lock(mutex_);
  wake_.notify_one();
  progress_.wait(lock, [&] { return done_ >= target || exited_; });
}

void touch_recorder::stop() {
  std::call_once(stop_once_, [this] {
    accepting_.store(false, std::memory_order_release);
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (writer_.joinable()) writer_.join();
  });
}

touch_recorder_stats touch_recorder::stats() const noexcept {
  touch_recorder_stats out;
  out.dropped = dropped_.load(std::memory_order_relaxed);
  out.offered = queue_.claimed();
  out.recorded = recorded_.load(std::memory_order_relaxed);
  out.write_errors = write_errors_.load(std::memory_order_relaxed);
  return out;
}

}  // namespace bidder::conversions
