#include "bidder/app/conversion_service.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "bidder/core/background_thread.hpp"
#include "bidder/core/json_text.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/http/metrics.hpp"
#include "bidder/notice/notice_url.hpp"
#include "bidder/spend/basics.hpp"

namespace bidder::app {

using conversions::touch_kind;

// Records the touches of accepted wins, bills and clicks, then hands every event on.
class conversion_service::touch_sink final : public engine::event_sink {
 public:
  touch_sink(conversion_service& service, conversions::touch_recorder& recorder,
             engine::event_sink* next)
      : service_(service), recorder_(recorder), next_(next) {}
  bool on_pixel_conversion(const engine::pixel_conversion& p) noexcept override {
    return service_.queue_pixel(p);
  }
  void on_bid(const engine::bid_event& e) noexcept override {
    if (next_ != nullptr) next_->on_bid(e);
  }
  void on_notice(const engine::notice_event& e) noexcept override {
    if (next_ != nullptr) next_->on_notice(e);
    if (e.kind == notice::notice_kind::loss) return;
    const bool click = e.kind == notice::notice_kind::click;
    std::array<std::uint64_t, conversions::touch_recorder::max_users> users;
    const std::size_t count = notice::read_user_hashes(e.users, users);
    const std::int64_t price = click ? 0 : e.clearing_price.value_or(e.bid_price).micros();
    recorder_.offer(
        click ? touch_kind::click : touch_kind::view, e.at, price,
        {e.bid_id, e.campaign_id, e.creative_id, e.exchange, e.currency, e.experiment, e.arm},
        std::span(users.data(), count));  // false: dropped and counted
  }

 private:
  conversion_service& service_;
  conversions::touch_recorder& recorder_;
  engine::event_sink* next_;
};

namespace {

events::event to_event(const conversions::stored_conversion& c) {
  events::event e;
  e.kind = events::event_kind::conversion;
  e.time_ms = c.at * 1000;
  e.bid_id = c.bid_id;
  e.campaign_id = c.campaign_id;
  e.creative_id = c.creative_id;
  e.currency = c.currency;
  e.exchange = c.exchange;
  e.conversion_id = c.conversion_id;
  e.value = money::from_micros(c.value_micros);
  e.credited_by = static_cast<events::attribution>(c.rule);  // the same values
  if (const std::size_t slash = c.arm.find('/'); slash != std::string::npos) {
    e.experiment = std::string_view(c.arm).substr(0, slash);
    e.arm = std::string_view(c.arm).substr(slash + 1);
  }
  return e;
}

// What ingest needs of the campaigns, built from one snapshot.
struct campaign_view {
  std::map<std::string, conversions::campaign_terms, std::less<>> campaigns;
  std::shared_ptr<const engine::snapshot> snap;

  explicit campaign_view(std::shared_ptr<const engine::snapshot> s) : snap(std::move(s)) {
    for (const engine::compiled_campaign& c : snap->campaigns) {
      conversions::campaign_terms t;
      t.click_window = c.click_window;
      t.view_window = c.view_window;
      t.advertiser_domains = c.advertiser_domains;
      t.first_advertiser = c.advertiser_domains.empty() ? c.id : c.advertiser_domains.front();
      campaigns.emplace(c.id, std::move(t));
    }
  }
  conversions::ingest_context context(std::uint64_t secret) const {
    conversions::ingest_context ctx;
    ctx.campaign = [this](std::string_view id) -> const conversions::campaign_terms* {
      auto it = campaigns.find(id);
      return it == campaigns.end() ? nullptr : &it->second;
    };
    ctx.advertiser_known = [this](std::string_view advertiser) {
      return std::any_of(campaigns.begin(), campaigns.end(), [&](const auto& entry) {
        const auto& domains = entry.second.advertiser_domains;
        return std::find(domains.begin(), domains.end(), advertiser) != domains.end();
      });
    };
    ctx.convert = [this](money value, std::string_view from,
                         std::string_view to) -> std::optional<money> {
      if (from == to) {
        if (snap->rate(from) <= 0) return std::nullopt;
        return value;
      }
      const double from_rate = snap->rate(from), to_rate = snap->rate(to);
      if (from_rate <= 0 || to_rate <= 0) return std::nullopt;
      return money::from_units(value.units() / from_rate * to_rate);
    };
    ctx.hash_user = [secret](std::string_view key) { return spend::hash64(key, secret); };
    return ctx;
  }
};

}  // namespace

conversion_service::conversion_service(conversion_service_options options,
                                       const engine::snapshot_holder& snapshots,
                                       events::event_log& log,
                                       std::unique_ptr<conversions::conversion_store> store)
    : options_(std::move(options)), snapshots_(snapshots), log_(log), store_(std::move(store)) {
  recorder_ = std::make_unique<conversions::touch_recorder>(*store_);
  pixel_thread_ = std::thread([this] { run_pixels(); });
}

conversion_service::~conversion_service() { stop(); }

result<std::unique_ptr<conversion_service>> conversion_service::open(
    conversion_service_options options, const engine::snapshot_holder& snapshots,
    events::event_log& log) {
  // Touches are kept past the longest window the config allows (90 days), so a reload that
  // lengthens a window finds them.
  auto store = conversions::conversion_store::open(
      {.dir = options.dir, .horizon = 91 * 86'400, .sync_commits = options.sync_commits});
  if (!store) return store.error();
  std::unique_ptr<conversion_service> self(
      new conversion_service(std::move(options), snapshots, log, std::move(*store)));
  auto left = self->store_->outbox();
  if (!left) return left.error();
  if (auto sent = self->send_to_log(*left); !sent) return sent.error();
  return self;
}

engine::event_sink* conversion_service::sink(engine::event_sink* next) {
  sink_ = std::make_unique<touch_sink>(*this, *recorder_, next);
  return sink_.get();
}

result<void> conversion_service::send_to_log(
    const std::vector<std::pair<std::uint64_t, conversions::stored_conversion>>& entries) {
  if (entries.empty()) return {};
  std::vector<std::uint64_t> appended;
  for (const auto& [id, c] : entries) {
    if (log_.append(to_event(c))) appended.push_back(id);  // else: left for the next try
  }
  log_.flush();  // in the OS's hands: a crash of the process no longer loses them
  auto cleared = store_->clear_outbox(appended);
  outbox_pending_.store(entries.size() - (cleared ? appended.size() : 0));
  return cleared;
}

std::pair<unsigned, std::string> conversion_service::post(std::string_view body, unix_seconds now) {
  std::lock_guard lock(post_mutex_);
  // Touches still queued (a click a moment ago) are written first, so they count.
  recorder_->flush();
  const campaign_view view(snapshots_.current());
  auto r =
      conversions::ingest_postback(*store_, body, now, view.context(options_.user_hash_secret));
  if (!r) {
    failed_posts_.fetch_add(1);
    std::string answer = "{\"error\":";
    append_json_string(answer, "nothing stored: " + r.error().message);
    answer += "}\n";
    return {503, std::move(answer)};
  }
  accepted_ += r->accepted;
  unmatched_ += r->unmatched;
  duplicate_ += r->duplicate;
  refused_ += r->refused;
  for (std::size_t i = 0; i < r->unmatched_by_reason.size(); ++i) {
    unmatched_by_[i] += r->unmatched_by_reason[i];
  }
  lookups_ += r->lookups;
  lookup_nanos_ += r->lookup_nanos;
  // Durable from here: a failure to reach the log now is retried at the next post or start.
  std::vector<std::pair<std::uint64_t, conversions::stored_conversion>> entries;
  for (std::size_t i = 0; i < r->committed.size(); ++i) {
    entries.emplace_back(r->outbox_ids[i], std::move(r->committed[i]));
  }
  if (auto left = store_->outbox(); left && left->size() > entries.size()) {
    entries = std::move(*left);  // earlier entries that did not reach the log: these too
  }
  (void)send_to_log(entries);
  return {200, conversions::to_json(*r)};
}

result<bool> conversion_service::forget_user(std::string_view user_key) {
  return store_->forget_user(spend::hash64(user_key, options_.user_hash_secret));
}

void conversion_service::write_metrics(std::string& out) const {
  auto line = [&](std::string_view name, std::string_view labels, std::uint64_t value) {
    http::write_metric_line(out, name, labels, value);
  };
  out +=
      "# HELP bidder_conversions_total Conversion postback lines by result (accepted: stored "
      "and attributed; unmatched: stored, not attributed).\n"
      "# TYPE bidder_conversions_total counter\n";
  line("bidder_conversions_total", "result=\"accepted\"", accepted_.load());
  line("bidder_conversions_total", "result=\"unmatched\"", unmatched_.load());
  line("bidder_conversions_total", "result=\"duplicate\"", duplicate_.load());
  line("bidder_conversions_total", "result=\"refused\"", refused_.load());
  out +=
      "# HELP bidder_conversions_unmatched_total Conversions stored without credit, by reason.\n"
      "# TYPE bidder_conversions_unmatched_total counter\n";
  for (std::size_t i = 0; i < unmatched_by_.size(); ++i) {
    line("bidder_conversions_unmatched_total",
         "reason=\"" +
             std::string(conversions::to_string(static_cast<conversions::unmatched_reason>(i))) +
             "\"",
         unmatched_by_[i].load());
  }
  out +=
      "# HELP bidder_conversion_posts_failed_total Postbacks answered 503 (the store failed; "
      "nothing stored).\n# TYPE bidder_conversion_posts_failed_total counter\n";
  line("bidder_conversion_posts_failed_total", "", failed_posts_.load());
  out +=
      "# HELP bidder_attribution_lookup_seconds Touch-store reads made to attribute "
      "conversions.\n# TYPE bidder_attribution_lookup_seconds summary\n";
  out += "bidder_attribution_lookup_seconds_sum " +
         std::to_string(static_cast<double>(lookup_nanos_.load()) / 1e9) + "\n";
  line("bidder_attribution_lookup_seconds_count", "", lookups_.load());
  const auto touches = recorder_->stats();
  out +=
      "# HELP bidder_touches_total Touches (wins, bills, clicks) for attribution, by outcome.\n"
      "# TYPE bidder_touches_total counter\n";
  line("bidder_touches_total", "result=\"recorded\"", touches.recorded);
  line("bidder_touches_total", "result=\"dropped\"", touches.dropped);
  line("bidder_touches_total", "result=\"write_error\"", touches.write_errors);
  const auto size = store_->size();
  out +=
      "# HELP bidder_touch_store_keys Estimated keys in the touch and conversion store.\n"
      "# TYPE bidder_touch_store_keys gauge\n";
  line("bidder_touch_store_keys", "", size.estimated_keys);
  out +=
      "# HELP bidder_touch_store_bytes Bytes of the touch and conversion store.\n"
      "# TYPE bidder_touch_store_bytes gauge\n";
  line("bidder_touch_store_bytes", "kind=\"disk\"", size.disk_bytes);
  line("bidder_touch_store_bytes", "kind=\"memtable\"", size.memtable_bytes);
  out +=
      "# HELP bidder_conversion_pixels_dropped_total Pixel conversions refused because their "
      "queue was full (answered 503).\n# TYPE bidder_conversion_pixels_dropped_total counter\n";
  line("bidder_conversion_pixels_dropped_total", "", pixels_dropped_.load());
  out +=
      "# HELP bidder_conversion_outbox_pending Stored conversions not yet in the event log.\n"
      "# TYPE bidder_conversion_outbox_pending gauge\n";
  line("bidder_conversion_outbox_pending", "", outbox_pending_.load());
}

bool conversion_service::queue_pixel(const engine::pixel_conversion& p) noexcept {
  // The postback line, written straight into the slot; too long a line is refused (the
  // handler caps the parts, so only hostile bytes escaped six-fold get here).
  const bool queued = pixels_.try_push([&](pixel_line& slot) {
    std::string_view parts[4] = {p.conversion_id, p.currency, p.click_id, p.advertiser};
    std::size_t at = 0;
    bool fits = true;
    auto put = [&](std::string_view text) {
      if (!fits || at + text.size() > sizeof slot.text) {
        fits = false;
        return;
      }
      if (!text.empty()) std::memcpy(slot.text + at, text.data(), text.size());
      at += text.size();
    };
    auto put_string = [&](std::string_view text) {
      put("\"");
      for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
          const char escaped[2] = {'\\', c};
          put(std::string_view(escaped, 2));
        } else if (u < 0x20) {
          char escaped[7];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
          put(std::string_view(escaped, 6));
        } else {
          put(std::string_view(&c, 1));
        }
      }
      put("\"");
    };
    char number[32];
    put("{\"conversion_id\":");
    put_string(parts[0]);
    if (!parts[1].empty()) {
      const std::int64_t micros = p.value.micros();
      const int n = std::snprintf(number, sizeof number, "%lld.%06lld",
                                  static_cast<long long>(micros / 1'000'000),
                                  static_cast<long long>(micros % 1'000'000));
      put(",\"value\":");
      put(std::string_view(number, static_cast<std::size_t>(n)));
      put(",\"currency\":");
      put_string(parts[1]);
    }
    put(",\"click_id\":");
    put_string(parts[2]);
    put(",\"advertiser\":");
    put_string(parts[3]);
    const int n =
        std::snprintf(number, sizeof number, ",\"time\":%lld}", static_cast<long long>(p.at));
    put(std::string_view(number, static_cast<std::size_t>(n)));
    slot.size = fits ? static_cast<std::uint16_t>(at) : 0;  // 0: refused by the pixel thread
  });
  if (!queued) pixels_dropped_.fetch_add(1, std::memory_order_relaxed);
  return queued;
}

std::size_t conversion_service::drain_pixels() {
  std::string body;
  std::size_t taken = 0;
  while (taken < 1000) {
    pixel_line* line = pixels_.front();
    if (line == nullptr) break;
    body.append(line->size > 0 ? std::string_view(line->text, line->size) : "{}");
    body += '\n';
    pixels_.pop();
    ++taken;
  }
  if (taken > 0) {
    (void)post(body, wall_now());  // counted in the conversion metrics like any postback
    {
      std::lock_guard lock(pixel_mutex_);
      pixels_done_ += taken;
    }
    pixel_progress_.notify_all();
  }
  return taken;
}

void conversion_service::run_pixels() noexcept {
  yield_to_bid_threads(background_priority::low);
  for (;;) {
    while (drain_pixels() > 0) {
    }
    std::unique_lock lock(pixel_mutex_);
    if (pixels_stopping_) break;
    pixel_wake_.wait_for(lock, std::chrono::milliseconds(20));
  }
  while (drain_pixels() > 0) {
  }
}

void conversion_service::flush_pixels() {
  const std::uint64_t target = pixels_.claimed();
  std::unique_lock lock(pixel_mutex_);
  pixel_wake_.notify_one();
  pixel_progress_.wait_for(lock, std::chrono::seconds(10), [&] { return pixels_done_ >= target; });
}

void conversion_service::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(pixel_mutex_);
      pixels_stopping_ = true;
    }
    pixel_wake_.notify_one();
    if (pixel_thread_.joinable()) pixel_thread_.join();
    if (recorder_) recorder_->stop();
  });
}

}  // namespace bidder::app
