// File: bidder/http/admin_handler.hpp
//
// The admin port: GET /healthz (the process is alive), GET /readyz (200 when it should get
// traffic, 503 with the reason while loading or draining; docs/deploy.md), GET /metrics (Prometheus
// text), POST /admin/reload (re-reads the config; 200 with a summary, or 422 with the reason while
// the old campaigns keep serving), the audience API (audience_api.hpp), and GET /admin/report (the
// event log's report, bidder/report/report_request.hpp, run on the offload thread since it reads
// files). The admin port listens on localhost by default; with a token set, every path but /healthz
// and /readyz needs "Authorization: Bearer <token>" or a session cookie (401 otherwise; with the
// cookie a change also needs X-CSRF-Token, 403 otherwise). The campaign API and the sessions:
// campaign_api.hpp, admin_session.hpp, docs/console.md. POST /admin/conversions takes
// conversion postbacks (JSON lines, up to max_admin_body_bytes; docs/conversions.md).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "bidder/audience/segment_store.hpp"
#include "bidder/core/error.hpp"
#include "bidder/http/admin_session.hpp"
#include "bidder/http/audience_api.hpp"
#include "bidder/http/campaign_api.hpp"
#include "bidder/http/reach_api.hpp"
#include "bidder/http/server.hpp"

namespace bidder::http {

/// An answer an admin action builds without HTTP types.
struct admin_reply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

struct admin_actions {
  /// Appends the Prometheus text of every metric.
  std::function<void(std::string&)> write_metrics;
  /// Reloads the config; returns a one-line summary or the reason it was refused.
  std::function<result<std::string>()> reload;
  /// The audience store behind /admin/audiences and /admin/users (null: those paths are 404).
  audience::segment_store* store = nullptr;
  /// POST /admin/conversions: takes the body, returns the status and the JSON answer (null:
  /// the path is 404).
  std::function<std::pair<unsigned, std::string>(std::string_view body)> post_conversions;
  /// POST /admin/events: browsing events (JSON lines; docs/audience-events.md), the same shape
  /// (null: the path is 404).
  std::function<std::pair<unsigned, std::string>(std::string_view body)> post_events{};
  /// DELETE /admin/users/{id} also forgets what this holds of the user (the touches that
  /// attribution keeps); true when there was anything. Null: nothing more to forget.
  forget_hook forget_more;
  /// GET/POST /admin/audience/estimate (reach_api.hpp) reads the bid path's audience counters
  /// with it. Null: the estimate has no "bid_traffic".
  traffic_reader audience_traffic{};
  /// GET /readyz: empty when the service should get traffic, else why not ("draining"). Null:
  /// always ready.
  std::function<std::string()> readiness{};
  /// When non-empty, the bearer token every request but /healthz and /readyz must carry.
  std::string token;
  /// GET /admin/report: the answer to its query string (without '?'). Reads the event log, so
  /// it runs on the admin worker's offload thread, never a bid thread; it must be thread-safe.
  /// Null: the path is 404.
  std::function<admin_reply(std::string_view query)> report{};
  /// The campaign API (campaign_api.hpp; null: its paths are 404). Must outlive the server.
  campaign_backend* campaigns = nullptr;
  /// Browser sessions (POST/GET/DELETE /admin/session; docs/console.md), shared by the admin
  /// handlers. Null: no sessions, only the bearer token.
  std::shared_ptr<session_table> sessions{};
};

class admin_handler final : public handler {
 public:
  explicit admin_handler(admin_actions actions) : actions_(std::move(actions)) {}
  steady_clock::time_point handle(request& req, steady_clock::time_point arrival,
                                  response& res) noexcept override;
  /// Audience pushes are streamed (see audience_api.hpp); everything else is read whole.
  stream_decision open_stream(const request_header& header, response& res,
                              std::unique_ptr<body_stream>& out) noexcept override;

 private:
  /// False with a 401 or 403 in `res` when the request may not proceed; else `who` names the
  /// caller for the audit log.
  bool authorised(const request_header& header, response& res, std::string& who) const;
  bool authorised(const request_header& header, response& res) const {
    std::string who;
    return authorised(header, res, who);
  }
  void serve_session(request& req, response& res);
  admin_actions actions_;
  push_counters pushes_;
};

}  // namespace bidder::http
