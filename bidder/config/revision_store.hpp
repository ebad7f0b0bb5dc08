// File: bidder/config/revision_store.hpp
//
// The campaign set's revisions and the audit log on disk (docs/console.md): in `dir`
// (<data-dir>/console), revision-00000042.json holds revision 42 whole (its campaigns and who
// made it, when, what, from which source), written to a temporary file, fsynced, renamed and the
// directory fsynced, so a crash leaves either the old set or the new one; audit.log gets one
// fsynced JSON line per revision. A revision is never changed or removed: a rollback is a new
// revision equal to an old one. Not thread-safe: the campaign console serialises its callers.
//
//   auto store = bidder::config::revision_store::open(data_dir / "console");
//   auto n = (*store)->append({.who = "admin", .what = "create campaign c1", .source = "api"},
//                             campaigns);
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bidder/config/loader.hpp"
#include "bidder/core/error.hpp"

namespace bidder::config {

struct revision_info {
  std::uint64_t revision = 0;
  std::string time;  // UTC, ISO 8601 ("2026-12-06T19:50:00Z")
  std::string who;
  std::string what;
  std::string source;  // "api", "file", "rollback" or "fleet" (docs/fleet.md)
  /// hash64 of the config file's campaigns as last imported (carried to every later revision):
  /// a reload imports the file again only when it differs.
  std::uint64_t file_digest = 0;
};

struct revision {
  revision_info info;
  std::vector<v1::Campaign> campaigns;
};

class revision_store {
 public:
  /// Creates `dir` if needed, reads every revision's metadata and the latest whole, removes
  /// temporary files a crash left, and appends to the audit log the revisions it lacks (a crash
  /// between the two writes). Errors: io_error, invalid_config (a corrupt revision file).
  [[nodiscard]] static result<std::unique_ptr<revision_store>> open(std::filesystem::path dir);

  /// The latest revision (revision 0, no campaigns, when there is none yet).
  const revision& latest() const noexcept { return latest_; }
  /// Every revision's metadata, oldest first.
  const std::vector<revision_info>& history() const noexcept { return history_; }
  /// Revision `n` whole. Errors: not_found, io_error, invalid_config.
  [[nodiscard]] result<revision> read(std::uint64_t n) const;
  /// Writes the next revision (info.revision and info.time are filled in) and its audit line.
  /// Returns its number. Errors: io_error (nothing changed).
  [[nodiscard]] result<std::uint64_t> append(revision_info info,
                                             std::vector<v1::Campaign> campaigns);
  /// The audit log's entries as JSON objects, newest first (a torn last line is skipped).
  [[nodiscard]] result<std::vector<std::string>> audit() const;

 private:
  explicit revision_store(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path file_of(std::uint64_t n) const;
  [[nodiscard]] result<void> append_audit(const revision_info& info);
  std::filesystem::path dir_;
  std::vector<revision_info> history_;
  revision latest_;
};

/// Unix seconds as ISO 8601 UTC.
std::string iso8601(std::int64_t unix_seconds);

}  // namespace bidder::config
