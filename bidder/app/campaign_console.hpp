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
#include <string>

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

  std::mutex mutex_;
  std::unique_ptr<config::revision_store> store_;
  hooks hooks_;
  config_ptr base_;  // the file's settings (and campaigns, which the revisions replace)
  std::atomic<std::uint64_t> serving_{0};
};

/// The file's campaigns' fingerprint (revision_info::file_digest).
std::uint64_t campaigns_digest(const config::bidder_config& config);

/// `base` with `campaigns` instead of its own, validated as a config file is.
[[nodiscard]] result<std::shared_ptr<const config::bidder_config>> with_campaigns(
    const config::bidder_config& base, const std::vector<config::v1::Campaign>& campaigns);

}  // namespace bidder::app
