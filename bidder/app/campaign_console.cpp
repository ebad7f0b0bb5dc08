#include "bidder/app/campaign_console.hpp"

#include <google/protobuf/util/message_differencer.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ctime>

#include "bidder/config/campaign_json.hpp"
#include "bidder/core/hash.hpp"

namespace bidder::app {
namespace {

bool same_campaigns(const std::vector<config::v1::Campaign>& a,
                    const std::vector<config::v1::Campaign>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

std::string revision_json(const config::revision& r) {
  boost::json::array list;
  for (const auto& c : r.campaigns) list.push_back(boost::json::parse(config::campaign_json(c)));
  boost::json::object o{{"revision", r.info.revision}, {"time", r.info.time},
                        {"who", r.info.who},           {"what", r.info.what},
                        {"source", r.info.source},     {"campaigns", std::move(list)}};
  return boost::json::serialize(o);
}

result<config::revision> parse_revision_json(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(text, ec);
  auto bad = [](std::string why) {
    return make_error(errc::invalid_config, "fleet revision: " + std::move(why));
  };
  if (ec || !root.is_object()) return bad("not a JSON object");
  const auto& o = root.as_object();
  config::revision r;
  const auto* n = o.if_contains("revision");
  if (n == nullptr || !n->is_number()) return bad("no revision number");
  r.info.revision = n->to_number<std::uint64_t>();
  for (const char* key : {"time", "who", "what", "source"}) {
    const auto* v = o.if_contains(key);
    const std::string s = v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
    if (std::string_view(key) == "time") r.info.time = s;
    if (std::string_view(key) == "who") r.info.who = s;
    if (std::string_view(key) == "what") r.info.what = s;
    if (std::string_view(key) == "source") r.info.source = s;
  }
  const auto* list = o.if_contains("campaigns");
  if (list == nullptr || !list->is_array()) return bad("no campaigns array");
  for (const auto& c : list->as_array()) {
    auto campaign = config::campaign_from_json(boost::json::serialize(c));
    if (!campaign) return bad(campaign.error().message);
    r.campaigns.push_back(std::move(*campaign));
  }
  return r;
}

std::uint64_t campaigns_digest(const config::bidder_config& config) {
  std::string all;
  for (const auto& c : config.campaigns()) all += config::campaign_json(c) + '\n';
  // Never 0, which means "nothing imported yet".
  return hash64(all) | 1;
}

result<std::shared_ptr<const config::bidder_config>> with_campaigns(
    const config::bidder_config& base, const std::vector<config::v1::Campaign>& campaigns) {
  config::bidder_config candidate = base;
  candidate.clear_campaigns();
  for (const auto& c : campaigns) *candidate.add_campaigns() = c;
  return config::validate(std::move(candidate), "campaign set");
}

result<std::unique_ptr<campaign_console>> campaign_console::open(std::filesystem::path dir,
                                                                 hooks h) {
  auto store = config::revision_store::open(std::move(dir));
  if (!store) return store.error();
  return std::unique_ptr<campaign_console>(new campaign_console(std::move(*store), std::move(h)));
}

result<void> campaign_console::import_if_changed(const config::bidder_config& file) {
  const std::uint64_t digest = campaigns_digest(file);
  const bool first = store_->latest().info.revision == 0;
  if (!first && digest == store_->latest().info.file_digest) return {};
  config::revision_info info;
  info.who = "config file";
  info.what = (first ? "seed from " : "import changed ") + hooks_.file_name;
  info.source = "file";
  info.file_digest = digest;
  std::vector<config::v1::Campaign> campaigns(file.campaigns().begin(), file.campaigns().end());
  if (auto claimed = claim(info, campaigns); !claimed) {
    return claimed.error();
  } else if (claimed->has_value()) {
    return make_error(errc::io_error, "fleet: revision " + std::to_string(**claimed) +
                                          " was made elsewhere; reload again once it is applied");
  }
  auto n = store_->append(info, std::move(campaigns));
  if (!n) return n.error();
  return {};
}

result<campaign_console::config_ptr> campaign_console::start() {
  std::lock_guard lock(mutex_);
  auto file = hooks_.load_file();
  if (!file) return file.error();
  // Checked before it is recorded, so a revision the file seeds always compiles.
  if (store_->latest().info.revision == 0 ||
      campaigns_digest(**file) != store_->latest().info.file_digest) {
    if (auto snap = hooks_.compile(**file); !snap) return snap.error();
  }
  if (auto r = import_if_changed(**file); !r) return r.error();
  auto merged = with_campaigns(**file, store_->latest().campaigns);
  if (!merged) {
    return make_error(merged.error().code,
                      "revision " + std::to_string(store_->latest().info.revision) +
                          " (docs/console.md) with the file's settings: " + merged.error().message);
  }
  base_ = *file;
  serving_.store(store_->latest().info.revision, std::memory_order_relaxed);
  return merged;
}

result<std::string> campaign_console::reload() {
  std::lock_guard lock(mutex_);
  auto file = hooks_.load_file();
  if (!file) return file.error();
  const bool changed = campaigns_digest(**file) != store_->latest().info.file_digest;
  auto merged =
      changed ? result<config_ptr>(*file) : with_campaigns(**file, store_->latest().campaigns);
  if (!merged) return merged.error();
  auto snap = hooks_.compile(**merged);
  if (!snap) return snap.error();
  if (changed) {
    if (auto r = import_if_changed(**file); !r) return r.error();
  }
  base_ = *file;
  std::string line = hooks_.publish(std::move(*snap), *merged);
  serving_.store(store_->latest().info.revision, std::memory_order_relaxed);
  return line + " (revision " + std::to_string(store_->latest().info.revision) + ")";
}

result<std::optional<std::uint64_t>> campaign_console::claim(
    const config::revision_info& info, const std::vector<config::v1::Campaign>& campaigns) {
  if (!hooks_.claim) return std::optional<std::uint64_t>();
  const std::uint64_t latest = store_->latest().info.revision;
  config::revision next{info, campaigns};
  next.info.revision = latest + 1;
  next.info.time = config::iso8601(static_cast<std::int64_t>(std::time(nullptr)));
  auto r = hooks_.claim(latest, latest + 1, revision_json(next));
  if (!r) {
    return make_error(errc::io_error, r.error().message +
                                          " (fleet mode: a change is refused while Redis is "
                                          "unreachable, docs/fleet.md)");
  }
  return *r;
}

result<void> campaign_console::apply_fleet(const std::string& set_json) {
  auto fleet = parse_revision_json(set_json);
  if (!fleet) return fleet.error();
  std::lock_guard lock(mutex_);
  if (fleet->info.revision <= store_->latest().info.revision) return {};
  auto merged = with_campaigns(*base_, fleet->campaigns);
  if (!merged) return merged.error();
  auto snap = hooks_.compile(**merged);
  if (!snap) return snap.error();
  config::revision_info info = fleet->info;  // who, what and the fleet's number
  info.source = "fleet";
  info.file_digest = store_->latest().info.file_digest;
  auto n = store_->append(std::move(info), std::move(fleet->campaigns));
  if (!n) return n.error();
  static_cast<void>(hooks_.publish(std::move(*snap), *merged));
  serving_.store(*n, std::memory_order_relaxed);
  return {};
}

std::pair<std::uint64_t, std::string> campaign_console::latest_json() {
  std::lock_guard lock(mutex_);
  return {store_->latest().info.revision, revision_json(store_->latest())};
}

config::revision campaign_console::current() {
  std::lock_guard lock(mutex_);
  return store_->latest();
}

campaign_console::commit_reply campaign_console::commit(std::uint64_t expected,
                                                        std::vector<config::v1::Campaign> campaigns,
                                                        config::revision_info info) {
  std::lock_guard lock(mutex_);
  const std::uint64_t latest = store_->latest().info.revision;
  if (expected != latest) return {outcome::stale, latest, "stale"};
  auto merged = with_campaigns(*base_, campaigns);
  if (!merged) return {outcome::invalid, latest, merged.error().message};
  auto snap = hooks_.compile(**merged);
  if (!snap) return {outcome::invalid, latest, snap.error().message};
  info.file_digest = store_->latest().info.file_digest;
  // Stored as validated (defaults such as currency written out), as the file seeds them, so a
  // diff shows only what was changed.
  campaigns.assign((*merged)->campaigns().begin(), (*merged)->campaigns().end());
  // A change that changes nothing (a form saved as it was, a pause of a paused campaign, a roll
  // back to the latest) answers with the latest revision instead of recording an empty one.
  if (same_campaigns(campaigns, store_->latest().campaigns)) return {outcome::applied, latest, {}};
  if (auto claimed = claim(info, campaigns); !claimed) {
    return {outcome::failed, latest, claimed.error().message};
  } else if (claimed->has_value()) {
    // Another bidder made revision latest+1 first; this one applies it within a sync interval.
    return {outcome::stale, **claimed, "stale"};
  }
  auto n = store_->append(std::move(info), std::move(campaigns));
  if (!n) return {outcome::failed, latest, n.error().message};
  static_cast<void>(hooks_.publish(std::move(*snap), *merged));
  serving_.store(*n, std::memory_order_relaxed);
  return {outcome::applied, *n, {}};
}

std::vector<config::revision_info> campaign_console::history() {
  std::lock_guard lock(mutex_);
  return store_->history();
}

result<config::revision> campaign_console::revision(std::uint64_t n) {
  std::lock_guard lock(mutex_);
  return store_->read(n);
}

result<std::vector<std::string>> campaign_console::audit() {
  std::lock_guard lock(mutex_);
  return store_->audit();
}

result<std::string> campaign_console::export_config() {
  std::lock_guard lock(mutex_);
  auto merged = with_campaigns(*base_, store_->latest().campaigns);
  if (!merged) return merged.error();
  return config::config_json(**merged) + "\n";
}

http::campaign_live campaign_console::live(std::string_view campaign_id) {
  return hooks_.live ? hooks_.live(campaign_id) : http::campaign_live{};
}

}  // namespace bidder::app
