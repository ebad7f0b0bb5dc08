#include "bidder/app/audience_event_service.hpp"

#include <cstring>

#include "bidder/core/background_thread.hpp"
#include "bidder/core/json_text.hpp"
#include "bidder/http/metrics.hpp"

namespace bidder::app {

namespace {
constexpr int via_post = 0, via_pixel = 1;
constexpr std::array<unsigned, 6> pixel_statuses = {204, 400, 404, 405, 429, 503};
}  // namespace

// Takes segment pixels; hands everything else on.
class audience_event_service::pixel_sink final : public engine::event_sink {
 public:
  pixel_sink(audience_event_service& service, engine::event_sink* next)
      : service_(service), next_(next) {}
  void on_bid(const engine::bid_event& e) noexcept override {
    if (next_ != nullptr) next_->on_bid(e);
  }
  void on_notice(const engine::notice_event& e) noexcept override {
    if (next_ != nullptr) next_->on_notice(e);
  }
  bool on_pixel_conversion(const engine::pixel_conversion& p) noexcept override {
    return next_ != nullptr && next_->on_pixel_conversion(p);
  }
  bool on_segment_pixel(const engine::segment_pixel_event& e) noexcept override {
    return service_.queue_pixel(e);
  }
  void on_segment_pixel_answer(unsigned status) noexcept override {
    service_.count_pixel_answer(status);
  }

 private:
  audience_event_service& service_;
  engine::event_sink* next_;
};

audience_event_service::audience_event_service(audience::segment_store& store,
                                               const config::v1::AudienceEvents& config,
                                               audience_event_options options)
    : store_(store),
      options_(std::move(options)),
      durability_(config.post_durability()),
      queue_(options_.queue_slots) {
  reload(config);
  writer_ = std::thread([this] { run_writer(); });
  if (durability_ == config::v1::AudienceEvents::SYNC_EVERY_SECOND) {
    // Its own thread (nice 19): the sync blocks on the disk, so never a bid or admin thread.
    wal_sync_ = std::make_unique<periodic_task>([this] { return store_.sync_wal(); },
                                                periodic_task::options{
                                                    .interval = options_.wal_sync_interval,
                                                    .clock_ns = options_.clock_ns,
                                                });
  }
}

audience_event_service::~audience_event_service() { stop(); }

engine::event_sink* audience_event_service::sink(engine::event_sink* next) {
  sink_ = std::make_unique<pixel_sink>(*this, next);
  return sink_.get();
}

void audience_event_service::reload(const config::v1::AudienceEvents& config) {
  auto compiled = std::make_shared<const browsing::rule_set>(browsing::rule_set::compile(config));
  {
    // A source's bucket survives reloads (its level kept, its rate updated).
    std::lock_guard lock(post_mutex_);
    for (const browsing::source_limit& s : compiled->sources()) {
      auto& limiter = source_limits_[s.id];
      if (!limiter) {
        limiter = std::make_unique<rate_limiter>(s.max_per_second);
      } else {
        limiter->set_rate(s.max_per_second);
      }
    }
  }
  std::lock_guard lock(rules_mutex_);
  rules_ = std::move(compiled);
}

std::shared_ptr<const browsing::rule_set> audience_event_service::rules() const {
  std::lock_guard lock(rules_mutex_);
  return rules_;
}

void audience_event_service::count(const browsing::ingest_result& r, int via) {
  results_[via][0] += r.accepted;
  results_[via][1] += r.unmatched;
  results_[via][2] += r.refused;
  for (std::size_t i = 0; i < browsing::refusal_count; ++i) refused_by_[i] += r.refused_by[i];
  memberships_ += r.memberships;
}

std::pair<unsigned, std::string> audience_event_service::post(std::string_view body,
                                                              unix_seconds now) {
  const auto rules = this->rules();
  std::vector<audience::event_membership> writes;
  browsing::ingest_result r;
  {
    std::lock_guard lock(post_mutex_);
    const std::int64_t now_ns = options_.clock_ns();
    r = browsing::ingest_events(
        body, now, *rules,
        [&](std::string_view source) {
          auto it = source_limits_.find(source);
          return it != source_limits_.end() && it->second->try_take(now_ns);
        },
        writes);
  }
  if (!writes.empty()) {
    // SYNC_EACH_POST: durable once acknowledged (the write-ahead log synced). SYNC_EVERY_SECOND:
    // in the log, unsynced, when acknowledged (it survives a crash of the bidder); wal_sync_
    // syncs it within a second (docs/audience-events.md "Durability").
    const bool sync = durability_ == config::v1::AudienceEvents::SYNC_EACH_POST;
    if (auto written = store_.add_event_memberships(writes, sync); !written) {
      write_errors_.fetch_add(1);
      std::string answer = "{\"error\":";
      append_json_string(answer, "nothing written: " + written.error().message);
      answer += "}\n";
      return {503, std::move(answer)};
    }
    batches_[via_post].fetch_add(1);
  }
  count(r, via_post);
  return {200, browsing::to_json(r)};
}

bool audience_event_service::queue_pixel(const engine::segment_pixel_event& e) noexcept {
  std::size_t total = e.source.size() + e.action.size() + e.url.size();
  for (std::string_view id : e.user_ids) total += id.size();
  if (e.user_ids.size() > engine::max_segment_pixel_ids || total > sizeof(pixel_slot::text)) {
    return false;  // the handler bounds both; hostile bytes only
  }
  const bool queued = queue_.try_push([&](pixel_slot& slot) {
    slot.at = e.at;
    char* at = slot.text;
    auto put = [&](std::string_view text) {
      if (!text.empty()) std::memcpy(at, text.data(), text.size());  // data() may be null
      at += text.size();
      return static_cast<std::uint16_t>(text.size());
    };
    slot.source_bytes = put(e.source);
    slot.action_bytes = put(e.action);
    slot.url_bytes = put(e.url);
    slot.ids = static_cast<std::uint8_t>(e.user_ids.size());
    for (std::size_t i = 0; i < e.user_ids.size(); ++i) slot.id_bytes[i] = put(e.user_ids[i]);
  });
  if (!queued) dropped_.fetch_add(1, std::memory_order_relaxed);
  return queued;
}

void audience_event_service::count_pixel_answer(unsigned status) noexcept {
  for (std::size_t i = 0; i < pixel_statuses.size(); ++i) {
    if (pixel_statuses[i] == status) pixel_answers_[i].fetch_add(1, std::memory_order_relaxed);
  }
}

std::size_t audience_event_service::drain() {
  const auto rules = this->rules();
  std::vector<audience::event_membership> writes;
  browsing::ingest_result r;
  std::vector<std::string> keys;
  std::string scratch, key;
  const unix_seconds now = wall_now();
  std::size_t taken = 0;
  while (taken < options_.batch_events) {
    pixel_slot* slot = queue_.front();
    if (slot == nullptr) break;
    std::string_view text(slot->text, sizeof slot->text);
    auto next = [&](std::size_t bytes) {
      const std::string_view part = text.substr(0, bytes);
      text.remove_prefix(bytes);
      return part;
    };
    const std::string_view source = next(slot->source_bytes);
    const std::string_view action = next(slot->action_bytes);
    const std::string_view url = next(slot->url_bytes);
    keys.clear();
    std::optional<std::string> bad_id;
    for (std::size_t i = 0; i < slot->ids; ++i) {
      if (auto bad = browsing::user_key_of(next(slot->id_bytes[i]), key)) {
        bad_id = std::move(bad);
      } else {
        keys.push_back(key);
      }
    }
    if (bad_id) {
      ++r.refused;
      ++r.refused_by[static_cast<std::size_t>(browsing::refusal::bad_user_id)];
    } else if (rules->find_source(source) == nullptr) {
      ++r.refused;  // a reload took the pixel's source away
      ++r.refused_by[static_cast<std::size_t>(browsing::refusal::unknown_source)];
    } else {
      const std::size_t added = browsing::append_memberships(*rules, {source, action, url, {}},
                                                             keys, slot->at, now, scratch, writes);
      r.memberships += added;
      ++(added > 0 ? r.accepted : r.unmatched);
    }
    queue_.pop();
    ++taken;
  }
  if (!writes.empty()) {
    // Not synced: like conversion pixels, a crash may lose the last moments' pixel events.
    if (auto written = store_.add_event_memberships(writes, false); !written) {
      write_errors_.fetch_add(1);
      r.memberships = 0;
    } else {
      batches_[via_pixel].fetch_add(1);
    }
  }
  if (taken > 0) {
    count(r, via_pixel);
    {
      std::lock_guard lock(writer_mutex_);
      done_ += taken;
    }
    writer_progress_.notify_all();
  }
  return taken;
}

void audience_event_service::run_writer() noexcept {
  yield_to_bid_threads(background_priority::low);
  for (;;) {
    while (drain() > 0) {
    }
    std::unique_lock lock(writer_mutex_);
    if (stopping_) break;
    // The bid thread does not signal (a system call per pixel); the writer looks every 5 ms,
    // the most a pixel event waits before its user's bids see it.
    writer_wake_.wait_for(lock, std::chrono::milliseconds(5));
  }
  while (drain() > 0) {
  }
}

void audience_event_service::flush() {
  const std::uint64_t target = queue_.claimed();
  std::unique_lock lock(writer_mutex_);
  writer_wake_.notify_one();
  writer_progress_.wait_for(lock, std::chrono::seconds(10), [&] { return done_ >= target; });
}

void audience_event_service::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(writer_mutex_);
      stopping_ = true;
    }
    writer_wake_.notify_one();
    if (writer_.joinable()) writer_.join();
    // After the writer: the last sync covers the last pixel events too.
    if (wal_sync_) wal_sync_->stop();
  });
}

void audience_event_service::check_wal_sync() {
  if (wal_sync_) wal_sync_->wake_and_wait();
}

void audience_event_service::write_metrics(std::string& out) const {
  auto line = [&](std::string_view name, std::string_view labels, std::uint64_t value) {
    http::write_metric_line(out, name, labels, value);
  };
  out +=
      "# HELP bidder_audience_events_total Browsing events (POST /admin/events lines, segment "
      "pixels) by result (accepted: gave memberships; unmatched: no rule matched).\n"
      "# TYPE bidder_audience_events_total counter\n";
  constexpr std::string_view vias[] = {"post", "pixel"};
  constexpr std::string_view results[] = {"accepted", "unmatched", "refused"};
  for (int via = 0; via < 2; ++via) {
    for (int result = 0; result < 3; ++result) {
      line("bidder_audience_events_total",
           "via=\"" + std::string(vias[via]) + "\",result=\"" + std::string(results[result]) + "\"",
           results_[via][result].load());
    }
  }
  out +=
      "# HELP bidder_audience_events_refused_total Refused browsing events by reason.\n"
      "# TYPE bidder_audience_events_refused_total counter\n";
  for (std::size_t i = 0; i < browsing::refusal_count; ++i) {
    line("bidder_audience_events_refused_total",
         "reason=\"" + std::string(browsing::to_string(static_cast<browsing::refusal>(i))) + "\"",
         refused_by_[i].load());
  }
  out +=
      "# HELP bidder_audience_event_memberships_total Segment memberships written from browsing "
      "events.\n# TYPE bidder_audience_event_memberships_total counter\n";
  line("bidder_audience_event_memberships_total", "", memberships_.load());
  out +=
      "# HELP bidder_audience_event_batches_total Store writes (one WriteBatch each) of browsing "
      "events.\n# TYPE bidder_audience_event_batches_total counter\n";
  for (int via = 0; via < 2; ++via) {
    line("bidder_audience_event_batches_total", "via=\"" + std::string(vias[via]) + "\"",
         batches_[via].load());
  }
  out +=
      "# HELP bidder_audience_event_write_errors_total Failed store writes of browsing events.\n"
      "# TYPE bidder_audience_event_write_errors_total counter\n";
  line("bidder_audience_event_write_errors_total", "", write_errors_.load());
  const periodic_task::counts syncs = wal_sync_ ? wal_sync_->so_far() : periodic_task::counts{};
  out +=
      "# HELP bidder_audience_event_wal_syncs_total Syncs of the audience store's write-ahead "
      "log by the once-a-second syncer (post_durability SYNC_EVERY_SECOND), by result.\n"
      "# TYPE bidder_audience_event_wal_syncs_total counter\n";
  line("bidder_audience_event_wal_syncs_total", "result=\"ok\"", syncs.runs - syncs.failures);
  line("bidder_audience_event_wal_syncs_total", "result=\"failed\"", syncs.failures);
  out +=
      "# HELP bidder_audience_event_queue_dropped_total Segment pixel events refused because "
      "their queue was full (answered 503).\n"
      "# TYPE bidder_audience_event_queue_dropped_total counter\n";
  line("bidder_audience_event_queue_dropped_total", "", dropped_.load());
  out +=
      "# HELP bidder_segment_pixel_requests_total Segment pixel requests (GET /segment) by "
      "answer.\n# TYPE bidder_segment_pixel_requests_total counter\n";
  for (std::size_t i = 0; i < pixel_statuses.size(); ++i) {
    line("bidder_segment_pixel_requests_total",
         "status=\"" + std::to_string(pixel_statuses[i]) + "\"", pixel_answers_[i].load());
  }
}

}  // namespace bidder::app
