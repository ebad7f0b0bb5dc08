// File: bidder/http/audience_api.hpp
//
// The admin API of the audience store (admin port only; docs/audience.md):
//   PUT  /admin/audiences/{segment}?mode=replace|add|remove&ttl_days=N&max_errors=N
//        body: the audience file (plain or gzip). 200 applied, 422 refused (bad lines, empty
//        file), 404 remove from an unknown segment, 400 bad parameters. JSON summary.
//   GET  /admin/audiences            segments with member counts, TTL, last update
//   GET  /admin/users/{id}           one user's segments ({id} as in audience files)
//   DELETE /admin/users/{id}         forget the user in every segment
//   POST /admin/audiences/compact    drop expired and forgotten data from disk now
// Runs on the admin server, never on a bid-serving thread. On a server with stream_bodies, a
// push's body is parsed and sorted as it arrives (open_audience_push), so memory stays bounded
// whatever the file's size; a push whose upload is cut applies nothing. Its end (the merge
// and the store update) runs on the server's offload thread, so the admin port keeps answering.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "bidder/audience/segment_store.hpp"
#include "bidder/http/server.hpp"

namespace bidder::http {

/// What DELETE /admin/users/{id} also forgets, given the user's audience key: true when there
/// was anything (e.g. the touches attribution keeps).
using forget_hook = std::function<result<bool>(std::string_view user_key)>;

/// Serves `req` when its path is one of the above and returns true; false otherwise.
/// `forget_more` (may be empty) runs on DELETE /admin/users/{id} after the store forgot.
bool serve_audience_api(audience::segment_store& store, request& req, response& res,
                        const forget_hook& forget_more = {});

/// Pushes by outcome, for /metrics. Atomic: a push's end is counted on the admin server's
/// offload thread (server.cpp), and /metrics reads the counts on the admin thread.
struct push_counters {
  std::atomic<std::uint64_t> applied{0};
  std::atomic<std::uint64_t> refused{0};  // a 4xx/5xx answer, or a file refused (422)
  std::atomic<std::uint64_t> aborted{0};  // the upload was cut before its end: nothing applied
  std::atomic<std::uint32_t> open{0};     // pushes uploading now
};

/// The admin port's largest body for every request but a push (pushes are streamed, up to
/// server_options::max_streamed_body_bytes): read whole, or gathered by a compact or ingest call.
inline constexpr std::size_t max_admin_body_bytes = std::size_t{1} << 20;

/// Pushes uploading at once; more get 429 with Retry-After (each holds up to two sort runs in
/// memory, and all share the admin thread and the store's disk).
inline constexpr std::uint32_t max_concurrent_pushes = 2;

/// For a streamed request (server_options::stream_bodies): when `header` is a push
/// (PUT /admin/audiences/{segment}), returns `stream` with `out` set, or `answered` with `res`
/// holding the 4xx for bad parameters. POST /admin/audiences/compact and .../ingest also get
/// `stream`: their work (seconds) then runs in `out`'s finish(), on the offload thread, so the
/// admin thread keeps answering. Any other request: `read_whole`. `counters` (may be null)
/// must outlive `out`.
stream_decision open_audience_push(audience::segment_store& store, const request_header& header,
                                   response& res, std::unique_ptr<body_stream>& out,
                                   push_counters* counters);

/// Decodes %XX escapes (and '+' as a space in query values). False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

}  // namespace bidder::http
