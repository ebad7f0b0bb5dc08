// File: bidder/http/campaign_api.hpp
//
// The campaign API on the admin port (docs/console.md "## API"): campaigns as the proto3 JSON of
// config.proto's Campaign, each change a new revision of the whole set, validated as `bidder
// check-config` validates (422 with the field of each error), guarded by If-Match against the
// revision read (409 when stale, 428 when missing), reversible by rollback:
//   GET/POST /admin/campaigns, GET/PUT/DELETE /admin/campaigns/{id},
//   POST /admin/campaigns/{id}/pause|resume, GET /admin/revisions[/{N}[/diff]],
//   POST /admin/revisions/{N}/rollback, GET /admin/audit, GET /admin/config/export.
// This file is HTTP and JSON only; the revisions, their validation and their application are the
// backend's (app/campaign_console.hpp), so it can be tested and replaced alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/config/loader.hpp"
#include "bidder/config/revision_store.hpp"
#include "bidder/core/error.hpp"
#include "bidder/http/server.hpp"

namespace bidder::http {

/// A campaign's live spend (the spend accounts of the snapshot serving now), in its currency.
struct campaign_live {
  bool known = false;  // false: not in the serving snapshot
  double spend_day = 0;
  double spend_lifetime = 0;
  std::optional<double> budget_left_day;  // only with that limit
  std::optional<double> budget_left_lifetime;
  double pacing = 1;  // share of eligible requests the pacing throttle lets bid
};

class campaign_backend {
 public:
  virtual ~campaign_backend() = default;

  enum class outcome {
    applied,  // a new revision, serving now
    stale,    // the latest revision is not `expected`
    invalid,  // validation refused it (message: the loader's, with the field)
    failed,   // could not be written (io_error)
  };
  struct commit_reply {
    outcome result = outcome::failed;
    std::uint64_t revision = 0;  // the new one, or the current one when stale
    std::string message;
  };

  /// The latest revision.
  virtual config::revision current() = 0;
  /// Validates `campaigns` with the config file's settings, compiles and applies them as the
  /// next revision (info's who, what and source are recorded), if the latest is `expected`.
  virtual commit_reply commit(std::uint64_t expected, std::vector<config::v1::Campaign> campaigns,
                              config::revision_info info) = 0;
  virtual std::vector<config::revision_info> history() = 0;
  [[nodiscard]] virtual result<config::revision> revision(std::uint64_t n) = 0;
  /// Audit entries (JSON objects), newest first.
  [[nodiscard]] virtual result<std::vector<std::string>> audit() = 0;
  /// The current revision as a config file (campaign_json.hpp config_json).
  [[nodiscard]] virtual result<std::string> export_config() = 0;
  virtual campaign_live live(std::string_view campaign_id) = 0;
};

/// Answers the request when its path is one of the API's (true), else leaves `res` alone.
/// `who` names the caller in the audit log.
bool serve_campaign_api(campaign_backend& backend, const request& req, response& res,
                        std::string_view who);

/// The revision an If-Match header names: "\"7\"", "W/\"7\"" or "7"; `current` for "*";
/// nullopt when absent or unreadable.
std::optional<std::uint64_t> if_match_revision(std::string_view header, std::uint64_t current);

}  // namespace bidder::http
