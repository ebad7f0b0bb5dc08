// File: bidder/app/campaign_console.hpp
//
// The campaign set as revisions (docs/console.md): the config file gives the settings and seeds
// the campaigns; the campaign API revises them; each revision is validated as `bidder
// check-config` validates (config::validate on the file's settings with the revision's
// campaigns), compiled, written (config::revision_store, <data-dir>/console) and only then
// swapped in, the same way a reload swaps in a new snapshot. A reload (SIGHUP, POST
// /admin/reload) reads the file again: when its campaigns changed since they were last imported
// they become a new revision (source "file"), else the latest revision keeps serving with the
// file's new settings. One mutex serialises every change and read.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "bidder/config/revision_store.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/http/campaign_api.hpp"

namespace bidder::app {

class campaign_console final : public http::campaign_backend {
 public:
  using config_ptr = std::shared_ptr<const config::bidder_config>;
  using snapshot_ptr = std::shared_ptr<const engine::snapshot>;
  struct hooks {
    /// The config file (or the embedded demo), parsed and validated.
    std::function<result<config_ptr>()> load_file;
    /// Compiles a config as a reload does (errors name the campaign and field).
    std::function<result<snapshot_ptr>(const config::bidder_config&)> compile;
    /// Swaps the snapshot in; returns the reload's summary line.
    std::function<std::string(snapshot_ptr, const config_ptr&)> publish;
    /// The live spend of a campaign in the serving snapshot.
    std::function<http::campaign_live(std::string_view)> live;
    /// Names the file in the audit log ("seed from campaigns.json").
    std::string file_name;
    /// Fleet mode (docs/fleet.md "Distribution"): claims revision `next` (its JSON) in Redis if
    /// the fleet's latest is `base`; nullopt when claimed, else the fleet's latest (stale); an
    /// error refuses the change. Empty (or answering nullopt) in one process.
    std::function<result<std::optional<std::uint64_t>>(std::uint64_t base, std::uint64_t next,
                                                       const std::string& set_json)>
        claim;
  };

  /// Opens <dir>'s revisions. Errors: io_error, invalid_config (a corrupt revision).
  [[nodiscard]] static result<std::unique_ptr<campaign_console>> open(std::filesystem::path dir,
                                                                      hooks h);
  /// At start: loads the file, seeds revision 1 from it (first start) or imports it when its
  /// campaigns changed, and returns the config to serve (validated; the caller compiles it).
  [[nodiscard]] result<config_ptr> start();
  /// Reloads the file (see above), compiles and publishes. Returns the summary line.
  [[nodiscard]] result<std::string> reload();
  /// The revision serving now (bidder_config_revision). Lock-free.
  std::uint64_t serving_revision() const noexcept {
    return serving_.load(std::memory_order_relaxed);
  }

  /// Fleet mode: applies the fleet's revision (revision_json) when newer than the latest here:
  /// validated and compiled as a change is, recorded with the fleet's number and source "fleet",
  /// swapped in. Errors: the reason it was refused (the serving set stays).
  [[nodiscard]] result<void> apply_fleet(const std::string& set_json);
  /// The latest revision here and its revision_json.
  std::pair<std::uint64_t, std::string> latest_json();

  config::revision current() override;
  commit_reply commit(std::uint64_t expected, std::vector<config::v1::Campaign> campaigns,
                      config::revision_info info) override;
  std::vector<config::revision_info> history() override;
  [[nodiscard]] result<config::revision> revision(std::uint64_t n) override;
  [[nodiscard]] result<std::vector<std::string>> audit() override;
  [[nodiscard]] result<std::string> export_config() override;
  http::campaign_live live(std::string_view campaign_id) override;

 private:
  campaign_console(std::unique_ptr<config::revision_store> store, hooks h)
      : store_(std::move(store)), hooks_(std::move(h)) {}
  /// Imports the file's campaigns as a new revision when they changed (or there is none).
  [[nodiscard]] result<void> import_if_changed(const config::bidder_config& file);
  /// Fleet mode: claims the next revision in Redis; the fleet's latest when stale.
  [[nodiscard]] result<std::optional<std::uint64_t>> claim(
      const config::revision_info& info, const std::vector<config::v1::Campaign>& campaigns);

  std::mutex mutex_;
  std::unique_ptr<config::revision_store> store_;
  hooks hooks_;
  config_ptr base_;  // the file's settings (and campaigns, which the revisions replace)
  std::atomic<std::uint64_t> serving_{0};
};

/// The file's campaigns' fingerprint (revision_info::file_digest).
std::uint64_t campaigns_digest(const config::bidder_config& config);

/// A revision whole as JSON (what Redis holds in fleet mode); parse_revision_json reads it.
std::string revision_json(const config::revision& r);
[[nodiscard]] result<config::revision> parse_revision_json(std::string_view text);

/// `base` with `campaigns` instead of its own, validated as a config file is.
[[nodiscard]] result<std::shared_ptr<const config::bidder_config>> with_campaigns(
    const config::bidder_config& base, const std::vector<config::v1::Campaign>& campaigns);

}  // namespace bidder::app
