// File: bidder/http/audience_api.hpp
//
// The admin API of the audience store (admin port only; README "Audience files"):
//   PUT  /admin/audiences/{segment}?mode=replace|add|remove&ttl_days=N&max_errors=N
//        body: the audience file (plain or gzip). 200 applied, 422 refused (bad lines, empty
//        file), 404 remove from an unknown segment, 400 bad parameters. JSON summary.
//   GET  /admin/audiences            segments with member counts, TTL, last update
//   GET  /admin/users/{id}           one user's segments ({id} as in audience files)
//   DELETE /admin/users/{id}         forget the user in every segment
//   POST /admin/audiences/compact    drop expired and forgotten data from disk now
// Runs on the admin thread, never on a bid-serving thread.
#pragma once

#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/http/server.hpp"

namespace bidder::http {

/// Serves `req` when its path is one of the above and returns true; false otherwise.
bool serve_audience_api(audience::rocksdb_store& store, request& req, response& res);

/// Decodes %XX escapes (and '+' as a space in query values). False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

}  // namespace bidder::http
