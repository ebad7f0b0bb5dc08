#include "bidder/app/service.hpp"

#include <atomic>
#include <charconv>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "bidder/app/audience_event_service.hpp"
#include "bidder/app/campaign_console.hpp"
#include "bidder/app/conversion_service.hpp"
#include "bidder/app/event_log_metrics.hpp"
#include "bidder/app/event_log_sink.hpp"
#include "bidder/app/event_stream_service.hpp"
#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/config/loader.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/events/event_log.hpp"
#include "bidder/fleet/agent.hpp"
#include "bidder/fleet/config_sync.hpp"
#include "bidder/http/admin_handler.hpp"
#include "bidder/http/bid_handler.hpp"
#include "bidder/http/io_backend.hpp"
#include "bidder/http/server.hpp"
#include "bidder/notice/signer.hpp"
#include "bidder/report/report_request.hpp"
#include "bidder/shading/shader.hpp"
#include "bidder/spend/keeper.hpp"
#include "bidder/spend/ledger.hpp"
#include "bidder/spend/spend_store.hpp"
#include "models/builtin.hpp"

namespace bidder::app {
namespace {

using config_ptr = std::shared_ptr<const config::bidder_config>;

result<config_ptr> load(const std::optional<std::string>& path) {
  if (path) return config::load_file(*path);
  return config::parse(config::demo_config_json(), "<embedded demo config>");
}

// Compiles the config into a snapshot; errors are prefixed with the file like the loader's.
result<std::shared_ptr<const engine::snapshot>> compile(
    const config::bidder_config& config, const pricing::registry& models,
    const std::optional<std::string>& path, std::shared_ptr<spend::ledger> ledger,
    std::shared_ptr<shading::book> shading = nullptr) {
  // A model's files (learned weights) are found next to the config file.
  const std::string files_dir =
      path ? std::filesystem::path(*path).parent_path().string() : std::string();
  auto snap = ledger ? engine::build_snapshot(config, models, std::move(ledger), std::move(shading),
                                              files_dir)
                     : engine::build_snapshot(config, models, files_dir);
  if (!snap) {
    return make_error(snap.error().code, (path ? *path : std::string("<embedded demo config>")) +
                                             ": " + snap.error().message);
  }
  return snap;
}

// What GET /readyz reports. The admin port opens last in service::start, so `loading` is not
// seen over HTTP today; it keeps /readyz right if the admin port is ever opened earlier (to
// answer /healthz during a long RocksDB open).
enum class phase : int { loading, ready, draining };

std::string summary(const engine::snapshot& snap) {
  std::size_t active = 0;
  for (const auto& c : snap.campaigns) active += c.active ? 1 : 0;
  return std::to_string(snap.campaigns.size()) + " campaigns (" + std::to_string(active) +
         " active), " + std::to_string(snap.creatives.size()) + " creatives";
}

// Writes the config's demo users into an empty store, so the demo has someone to recognise.
result<std::size_t> seed_demo_users(const config::bidder_config& config, audience::store& store) {
  if (config.demo_users().empty()) return std::size_t{0};
  auto empty = store.is_empty();
  if (!empty) return empty.error();
  if (!*empty) return std::size_t{0};
  const unix_seconds now = wall_now();
  for (const auto& user : config.demo_users()) {
    std::vector<audience::membership> memberships;
    for (const auto& m : user.segments()) {
      memberships.push_back({m.segment(), now - static_cast<unix_seconds>(m.days_ago()) * 86400});
    }
    if (auto r = store.write_user(user.key(), memberships); !r) return r.error();
  }
  return static_cast<std::size_t>(config.demo_users_size());
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The notice keys: the configured ring, the one key file, or a key made at random now (with a
// warning).
result<notice::signer> make_signer(const config::bidder_config& config, std::ostream* log) {
  if (!config.notice_keys().empty()) {
    std::vector<notice::named_key> keys;
    for (const auto& k : config.notice_keys()) {
      auto secret = notice::signer::read_key_file(k.file());
      if (!secret)
        return make_error(secret.error().code,
                          "notice_keys \"" + k.id() + "\": " + secret.error().message);
      keys.push_back({k.id(), std::move(*secret)});
    }
    return notice::signer::from_keys(keys, config.notice_signing_key());
  }
  if (!config.notice_key_file().empty()) {
    return notice::signer::from_file(config.notice_key_file(), config::default_notice_key_id);
  }
  if (log != nullptr) {
    *log << "bidder: warning: no notice_key_file in the config: notice URLs are signed with a "
            "random key made now, so notices for bids made before a restart will not verify\n";
  }
  return notice::signer::random();
}

// The secret keying user-id hashes for frequency caps: from frequency_key_file when set, so
// that rotating the notice signing key keeps the counts; else from the signing key.
result<std::uint64_t> user_hash_secret_of(const config::bidder_config& config,
                                          const notice::signer& signer) {
  constexpr std::string_view label = "frequency-cap user ids";
  if (config.frequency_key_file().empty()) return signer.derive_secret(label);
  auto secret = notice::signer::read_key_file(config.frequency_key_file());
  if (!secret) {
    return make_error(secret.error().code, "frequency_key_file: " + secret.error().message);
  }
  auto keyed = notice::signer::from_key(*secret, "frequency");
  if (!keyed) {
    return make_error(keyed.error().code, "frequency_key_file " + config.frequency_key_file() +
                                              ": " + keyed.error().message);
  }
  return keyed->derive_secret(label);
}

// What the notice and frequency keys were made from; they are read at start only, so a reload
// that changes it says so.
std::string key_settings_of(const config::bidder_config& config) {
  std::string out = config.notice_key_file() + '\n' + config.notice_signing_key() + '\n' +
                    config.frequency_key_file() + '\n';
  for (const auto& k : config.notice_keys()) out += k.id() + '=' + k.file() + '\n';
  return out;
}

}  // namespace

struct service::impl {
  serve_options options;
  pricing::registry models;
  std::unique_ptr<audience::rocksdb_store> store;
  std::unique_ptr<engine::snapshot_holder> snapshots;
  std::optional<notice::signer> signer;
  std::string key_settings;  // key_settings_of() the config the signer was made from
  std::shared_ptr<spend::ledger> ledger;
  std::unique_ptr<spend::spend_store> spend_store;
  std::unique_ptr<spend::keeper> keeper;
  std::unique_ptr<fleet::agent> fleet;     // fleet mode only (docs/fleet.md)
  std::shared_ptr<shading::book> shading;  // bid shading's state, shared by the snapshots
  std::unique_ptr<shading::book_keeper> shading_keeper;
  std::unique_ptr<events::event_log> event_log;  // stopped after the servers (service::stop)
  std::unique_ptr<event_log_sink> event_sink;
  std::unique_ptr<event_stream_service> event_stream;       // tails the event log's files
  std::unique_ptr<conversion_service> conversions;          // its sink feeds event_sink
  std::unique_ptr<audience_event_service> audience_events;  // its sink feeds conversions'
  std::unique_ptr<http::server> bids;
  std::unique_ptr<http::server> admin;
  std::vector<http::bid_handler*> handlers;
  // The campaign set's revisions (docs/console.md): the API's backend; reloads go through it,
  // and its lock makes one reload or change at a time (SIGHUP and the admin API may race).
  std::unique_ptr<campaign_console> console;
  // Fleet mode: the campaign revisions shared through Redis (docs/fleet.md "Distribution").
  std::unique_ptr<fleet::config_sync> config_sync;
  std::atomic<phase> phase_now{phase::loading};

  // Swaps in a compiled campaign set (a reload, a campaign API change); the summary line.
  std::string publish(std::shared_ptr<const engine::snapshot> snap,
                      const config::bidder_config& config) {
    std::string line = "reloaded: " + summary(*snap);
    if (key_settings_of(config) != key_settings) {
      line += "; the notice keys did not change: they are read at start only, restart to apply";
    }
    if (config.audience_events().post_durability() != audience_events->durability()) {
      line +=
          "; audience_events.post_durability did not change: it is read at start only, restart "
          "to apply";
    }
    snapshots->publish(std::move(snap));
    audience_events->reload(config.audience_events());
    return line;
  }

  // A campaign's spend in the snapshot serving now (GET /admin/campaigns).
  http::campaign_live live(std::string_view id) const {
    http::campaign_live out;
    if (!snapshots) return out;
    const auto snap = snapshots->current();
    const unix_seconds now = wall_now();
    for (const auto& c : snap->campaigns) {
      if (c.id != id || c.account == nullptr) continue;
      const spend::amount day = c.account->spent_day(now);
      const spend::amount lifetime = c.account->spent_lifetime();
      const spend::amount reserved = c.account->reserved();
      out.known = true;
      out.spend_day = spend::units_of(day);
      out.spend_lifetime = spend::units_of(lifetime);
      if (c.budget.daily > 0)
        out.budget_left_day = spend::units_of(c.budget.daily - day - reserved);
      if (c.budget.lifetime > 0) {
        out.budget_left_lifetime = spend::units_of(c.budget.lifetime - lifetime - reserved);
      }
      out.pacing = c.account->pacing_rate();
      return out;  // campaign ids are unique
    }
    return out;
  }

  // GET /readyz: empty when ready, else the reason. In fleet mode ready also needs a fresh
  // budget lease (docs/fleet.md): a bidder whose lease has expired must not take traffic it
  // cannot spend on.
  std::string not_ready_reason() const {
    switch (phase_now.load(std::memory_order_acquire)) {
      case phase::loading:
        return "loading the config and the audience store";
      case phase::draining:
        return "draining: stopping (SIGTERM), finishing in-flight requests";
      case phase::ready:
        break;
    }
    if (fleet) return fleet->not_ready_reason();
    return {};
  }
};

service::service(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
service::~service() { stop(std::chrono::milliseconds(1000)); }

result<std::unique_ptr<service>> service::start(const serve_options& options, std::ostream& log) {
  auto self = std::make_unique<impl>();
  self->options = options;
  if (auto r = models::register_builtin_models(self->models); !r) return r.error();

  impl* const state = self.get();
  auto console = campaign_console::open(
      std::filesystem::path(options.data_dir) / "console",
      campaign_console::hooks{
          .load_file = [path = options.config_path] { return load(path); },
          .compile =
              [state](const config::bidder_config& c) {
                return compile(c, state->models, state->options.config_path, state->ledger,
                               state->shading);
              },
          .publish = [state](std::shared_ptr<const engine::snapshot> snap,
                             const config_ptr& c) { return state->publish(std::move(snap), *c); },
          .live = [state](std::string_view id) { return state->live(id); },
          .file_name = options.config_path ? *options.config_path : "the embedded demo config",
          // Unset until fleet mode starts below: the start's seed is local, then the sync
          // reconciles it with the fleet.
          .claim = [state](std::uint64_t base, std::uint64_t next,
                           const std::string& json) -> result<std::optional<std::uint64_t>> {
            if (!state->config_sync) return std::optional<std::uint64_t>();
            return state->config_sync->claim(base, next, json);
          }});
  if (!console) return console.error();
  self->console = std::move(*console);
  auto config = self->console->start();  // the file's settings with the latest revision's campaigns
  if (!config) return config.error();
  auto signer = make_signer(**config, &log);
  if (!signer) return signer.error();
  self->signer.emplace(std::move(*signer));
  self->key_settings = key_settings_of(**config);

  // RocksDB's flush and compaction threads (both stores share them) yield to the bid threads.
  audience::run_rocksdb_threads_idle();

  // Spend state: restored from <data-dir>/spend before the campaigns are compiled against it.
  std::error_code fs_error;
  const std::string spend_path = options.data_dir + "/spend";
  auto spend_store = spend::spend_store::open(
      {.path = spend_path, .notice_max_age = (*config)->notice_max_age_seconds()});
  if (!spend_store) return spend_store.error();
  self->spend_store = std::move(*spend_store);
  {
    spend::ledger_options ledger_options = engine::ledger_options_of(**config);
    ledger_options.fleet = !options.redis.empty();
    self->ledger = std::make_shared<spend::ledger>(ledger_options);
  }
  {
    auto saved = self->spend_store->load();
    if (!saved) return saved.error();
    spend::restore(*self->ledger, *saved, wall_now());
    log << "bidder: spend state " << spend_path << " (" << saved->campaigns.size() << " campaigns, "
        << saved->bids.size() << " notified bids, " << saved->frequency.size()
        << " frequency entries)\n";
  }

  // Bid shading's state (docs/bid-shading.md): <data-dir>/shading.state. A file that cannot be
  // read or is corrupt is refused with its reason and shading starts cold; it never stops the
  // bidder.
  self->shading = std::make_shared<shading::book>();
  const std::string shading_path = options.data_dir + "/shading.state";
  if (auto loaded = self->shading->load(shading_path, wall_now()); !loaded) {
    log << "bidder: shading state refused, shading starts cold: " << loaded.error().message << "\n";
  } else if (*loaded) {
    log << "bidder: shading state " << shading_path << "\n";
  }

  auto snap = compile(**config, self->models, options.config_path, self->ledger, self->shading);
  if (!snap) return snap.error();
  log << "bidder: " << summary(**snap) << " from "
      << (options.config_path ? *options.config_path : "the embedded demo config") << "\n";

  const std::string store_path = options.data_dir + "/audience";
  std::filesystem::create_directories(store_path, fs_error);
  if (fs_error) {
    return make_error(errc::io_error, "cannot create " + store_path + ": " + fs_error.message());
  }
  auto store =
      audience::rocksdb_store::open({.path = store_path,
                                     .block_cache_bytes = options.audience_cache_bytes,
                                     .row_cache_bytes = options.audience_row_cache_bytes,
                                     .user_cache_bytes = options.audience_user_cache_bytes});
  if (!store) return store.error();
  self->store = std::move(*store);
  auto seeded = seed_demo_users(**config, *self->store);
  if (!seeded) return seeded.error();
  log << "bidder: audience store " << store_path;
  if (*seeded > 0) log << " (first start: wrote " << *seeded << " demo users)";
  log << "\n";

  self->snapshots = std::make_unique<engine::snapshot_holder>(*snap);
  // Ticks (reservation expiry, pacing) and writes the spend state from now on.
  self->keeper = std::make_unique<spend::keeper>(*self->ledger, self->spend_store.get(),
                                                 spend::keeper_options{});
  self->keeper->start();
  std::filesystem::create_directories(options.data_dir, fs_error);
  self->shading_keeper = std::make_unique<shading::book_keeper>(
      self->shading,
      shading::book_keeper::options{.path = shading_path,
                                    .period = options.shading_period,
                                    .save_period = std::chrono::milliseconds(30'000)},
      &log);
  self->shading_keeper->start();

  auto bid_address = http::parse_host_port(options.listen);
  if (!bid_address) return bid_address.error();
  auto admin_address = http::parse_host_port(options.admin_listen);
  if (!admin_address) return admin_address.error();
  if (!is_loopback(admin_address->first) && options.admin_token.empty()) {
    return make_error(errc::invalid_config,
                      "--admin-listen " + options.admin_listen +
                          " is reachable from other hosts: set BIDDER_ADMIN_TOKEN or "
                          "--admin-token-file so the admin API requires a bearer token");
  }
  const unsigned threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t max_body = (*config)->max_body_bytes();
  const std::uint64_t seed = std::random_device{}() ^ static_cast<std::uint64_t>(wall_now());
  if (!options.redis.empty()) {
    // Fleet mode: the seed, which starts every bid id issued here, names this bidder in Redis.
    auto endpoint = fleet::parse_redis_endpoint(options.redis);
    if (!endpoint) return endpoint.error();
    char hex[17];
    const auto end = std::to_chars(hex, hex + sizeof hex, seed, 16).ptr;
    self->fleet = std::make_unique<fleet::agent>(
        *self->ledger,
        fleet::agent_options{.redis = *endpoint,
                             .instance = std::string(hex, end),
                             .slice = spend::amount_from_units(options.fleet_slice_units),
                             .sync_interval = options.fleet_sync,
                             .lease_ttl = options.fleet_lease_ttl,
                             .settle_ttl = (*config)->notice_max_age_seconds()});
    self->ledger->set_fleet(self->fleet.get());
    self->fleet->start();
    campaign_console* console_ptr = self->console.get();
    self->config_sync = std::make_unique<fleet::config_sync>(
        fleet::config_sync_options{.redis = *endpoint, .interval = options.fleet_sync},
        fleet::config_sync_hooks{
            .serving = [console_ptr] { return console_ptr->serving_revision(); },
            .latest = [console_ptr] { return console_ptr->latest_json(); },
            .apply =
                [console_ptr](const std::string& json) { return console_ptr->apply_fleet(json); }});
    log << "bidder: fleet mode, Redis " << endpoint->text() << ", this bidder "
        << std::string(hex, end) << "\n";
  }

  state->handlers.resize(threads, nullptr);
  // Every bid and accepted notice goes to <data-dir>/events (docs/notices-and-spend.md "Event log
  // and reports").
  auto event_log =
      events::event_log::open({.dir = std::filesystem::path(options.data_dir) / "events"});
  if (!event_log) return event_log.error();
  state->event_log = std::move(*event_log);
  state->event_sink = std::make_unique<event_log_sink>(*state->event_log);
  // The event log's files also go to Kafka when configured (docs/event-stream.md).
  auto event_stream = event_stream_service::start((*config)->event_stream(), options.data_dir);
  if (!event_stream) return event_stream.error();
  state->event_stream = std::move(*event_stream);
  auto user_hash_secret = user_hash_secret_of(**config, *state->signer);
  if (!user_hash_secret) return user_hash_secret.error();
  // Touches and conversions (docs/conversions.md): after the event log, which it re-sends the
  // conversions a crash left in its outbox to.
  auto conversions =
      conversion_service::open({.dir = std::filesystem::path(options.data_dir) / "conversions",
                                .user_hash_secret = *user_hash_secret},
                               *state->snapshots, *state->event_log);
  if (!conversions) return conversions.error();
  state->conversions = std::move(*conversions);
  // Browsing events (docs/audience-events.md): POST /admin/events and the segment pixel.
  state->audience_events =
      std::make_unique<audience_event_service>(*state->store, (*config)->audience_events());
  const engine::auction_services services{
      .signer = &*state->signer,
      .user_hash_secret = *user_hash_secret,
      .events = state->audience_events->sink(state->conversions->sink(state->event_sink.get()))};
  const auto shed_window = options.shed_busy_share > 0 ? std::chrono::microseconds(10'000)
                                                       : std::chrono::microseconds(0);
  self->bids = std::make_unique<http::server>(
      http::server_options{.host = bid_address->first,
                           .port = bid_address->second,
                           .threads = threads,
                           .max_body_bytes = max_body,
                           .request_timeout = options.request_timeout,
                           .max_connections_per_thread = options.max_connections_per_thread,
                           .shed_queued = options.shed_queued,
                           .shed_window = shed_window,
                           .shed_busy_share = options.shed_busy_share},
      [state, seed, max_body, services](unsigned worker) {
        auto h = std::make_unique<http::bid_handler>(*state->snapshots, state->store.get(), worker,
                                                     seed, max_body, services);
        state->handlers[worker] = h.get();
        return h;
      });
  if (auto r = self->bids->start(); !r) return r.error();

  std::unique_ptr<service> svc(new service(std::move(self)));
  service* raw = svc.get();
  http::admin_actions actions{
      .write_metrics =
          [state](std::string& out) {
            std::vector<const http::bid_metrics*> metrics;
            std::vector<const engine::audience_stats*> audience;
            for (const http::bid_handler* h : state->handlers) {
              metrics.push_back(&h->metrics());
              audience.push_back(&h->audience());
            }
            http::write_prometheus(metrics, audience, out);
            http::write_spend_prometheus(*state->snapshots->current(), out);
            out +=
                "# HELP bidder_spend_write_errors_total Failed writes "
                "of the spend state to disk.\n"
                "# TYPE bidder_spend_write_errors_total counter\n"
                "bidder_spend_write_errors_total " +
                std::to_string(state->keeper->write_errors()) + "\n";
            if (state->fleet) state->fleet->write_metrics(out);
            if (state->config_sync) state->config_sync->write_metrics(out);
            state->conversions->write_metrics(out);
            state->audience_events->write_metrics(out);
            write_event_log_prometheus(state->event_log->stats(), out);
            state->event_stream->write_metrics(out);
            out +=
                "# HELP bidder_config_revision The campaign set's revision serving now "
                "(docs/console.md).\n# TYPE bidder_config_revision gauge\nbidder_config_revision " +
                std::to_string(state->console->serving_revision()) + "\n";
          },
      .reload = [raw] { return raw->reload(); },
      .store = state->store.get(),
      .post_conversions =
          [state](std::string_view body) { return state->conversions->post(body, wall_now()); },
      .post_events =
          [state](std::string_view body) { return state->audience_events->post(body, wall_now()); },
      .forget_more = [state](std::string_view key) { return state->conversions->forget_user(key); },
      .audience_traffic =
          [state] {
            http::audience_traffic t;
            for (const http::bid_handler* h : state->handlers) {
              t.requests += h->metrics().requests.load(std::memory_order_relaxed);
              t.lookups += h->audience().lookups.load(std::memory_order_relaxed);
              t.found += h->audience().found.load(std::memory_order_relaxed);
            }
            return t;
          },
      .readiness = [state] { return state->not_ready_reason(); },
      .token = options.admin_token};
  // GET /admin/report: the same report as `bidder report`, over the log being written. The
  // events queued before the request are written first, so a report asked for right after a
  // run counts all of it.
  actions.report = [events_dir = std::filesystem::path(options.data_dir) / "events",
                    log = state->event_log.get()](std::string_view query) {
    log->flush();
    auto answer = reporting::answer_report_request(query, events_dir);
    return http::admin_reply{.status = answer.status,
                             .content_type = std::move(answer.content_type),
                             .body = std::move(answer.body)};
  };
  actions.campaigns = state->console.get();
  actions.sessions = std::make_shared<http::session_table>();
  state->admin = std::make_unique<http::server>(
      http::server_options{.host = admin_address->first,
                           .port = admin_address->second,
                           .threads = 1,
                           .max_body_bytes = http::max_admin_body_bytes,  // pushes are streamed
                           .idle_timeout = std::chrono::seconds(300),
                           .shed_queued = std::chrono::microseconds(0),
                           .shed_window = std::chrono::microseconds(0),
                           .background_threads = true,  // a push must not take the bids' CPU time
                           .stream_bodies = true},
      [actions](unsigned) { return std::make_unique<http::admin_handler>(actions); });
  if (auto r = state->admin->start(); !r) return r.error();

  log << "bidder: bid endpoint   POST http://" << bid_address->first << ":" << raw->bid_port()
      << "/bid (" << threads << " threads, " << http::io_backend_name() << ")\n";
  log << "bidder: admin endpoint http://" << admin_address->first << ":" << raw->admin_port()
      << " (/healthz, /readyz, /metrics, POST /admin/reload, POST /admin/conversions, "
         "POST /admin/events, GET /admin/report, /admin/campaigns)\n";
  // Applying a fleet revision publishes a snapshot: only once everything it touches exists.
  if (state->config_sync) state->config_sync->start();
  state->phase_now.store(phase::ready, std::memory_order_release);
  return svc;
}

std::uint16_t service::bid_port() const noexcept { return impl_->bids->port(); }
std::uint16_t service::admin_port() const noexcept { return impl_->admin->port(); }

result<std::string> service::reload() { return impl_->console->reload(); }

void service::flush_conversions() {
  impl_->conversions->flush_touches();
  impl_->conversions->flush_pixels();
}

void service::flush_audience_events() { impl_->audience_events->flush(); }

void service::begin_drain() noexcept {
  impl_->phase_now.store(phase::draining, std::memory_order_release);
}

void service::stop(std::chrono::milliseconds grace) {
  begin_drain();
  // Both ports stop accepting at once and share one grace period.
  if (impl_->admin) impl_->admin->begin_drain();
  if (impl_->bids) impl_->bids->begin_drain();
  const auto until = steady_clock::now() + grace;
  if (impl_->admin) impl_->admin->finish_drain(until);
  if (impl_->bids) impl_->bids->finish_drain(until);
  // No notice can arrive any more: the last charges settled fleet-wide, the last spend write.
  if (impl_->fleet) impl_->fleet->stop();
  if (impl_->config_sync) impl_->config_sync->stop();
  if (impl_->keeper) impl_->keeper->stop();
  if (impl_->shading_keeper) impl_->shading_keeper->stop();  // its last save
  if (impl_->conversions) impl_->conversions->stop();
  if (impl_->audience_events) impl_->audience_events->stop();  // the queued pixel events written
  if (impl_->event_log) impl_->event_log->stop();  // after the servers: nothing appends any more
  if (impl_->event_stream) impl_->event_stream->stop();  // the rest goes at the next start
}

result<std::string> check_config(const std::optional<std::string>& path) {
  pricing::registry models;
  if (auto r = models::register_builtin_models(models); !r) return r.error();
  auto config = load(path);
  if (!config) return config.error();
  if (!(*config)->notice_key_file().empty() || !(*config)->notice_keys().empty()) {
    if (auto signer = make_signer(**config, nullptr); !signer) return signer.error();
  }
  auto snap = compile(**config, models, path, nullptr);
  if (!snap) return snap.error();
  return "OK: " + summary(**snap);
}

}  // namespace bidder::app
