// File: bench/sim/bidders.hpp
//
// The bidders bidsim can put into its market: the real bidder over HTTP (`http_bidder`), and two
// in-process references run on the same seeded market in its place: the `oracle_bidder`, which
// knows every user's true propensities and each exchange's competitor distribution, and the
// `fixed_bidder`, the naive baseline that bids one CPM wherever a campaign's targeting matches.
//
//   http_bidder real(scenario, {.bid_url = "http://127.0.0.1:8080/bid", ...});
//   oracle_bidder oracle(scenario, users);
//   bid_answer a = oracle.bid(opportunity, "");
//
// Thread-safety: one object per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bench/sim/http_client.hpp"
#include "bench/sim/market.hpp"

namespace bidder::sim {

struct bid_offer {
  std::size_t campaign = 0;  // index into scenario::campaigns
  double price_cpm = 0;
  std::string bid_id;
  std::string nurl, burl, lurl;  // empty for in-process bidders
  std::string click_url;         // from the markup; empty when none
};

/// Why a bid request got no usable answer (counted, never fatal).
enum class bid_error {
  none,
  timeout,
  connect,
  closed,            // connection closed, or an answer that is not HTTP
  client_error,      // 4xx
  server_error,      // 5xx
  other_status,      // 1xx, 3xx, 2xx other than 200 and 204
  bad_body,          // a 200 whose body is not a usable BidResponse
  unknown_campaign,  // a bid naming a campaign the scenario does not have
};
inline constexpr std::size_t bid_error_count = 9;
const char* bid_error_name(bid_error e);

struct bid_answer {
  bid_error error = bid_error::none;
  std::optional<bid_offer> offer;  // none and no error: a no-bid
  std::string detail;              // for errors: what was wrong
  /// Answered after the request's tmax. Counted, not dropped: an exchange would drop it, but
  /// that would make the outcome depend on timing (docs/bidsim.md).
  bool late = false;
};

/// The result of a notice, click or conversion post sent to a live bidder.
struct live_status {
  bool sent = false;  // an HTTP answer came back
  unsigned status = 0;
  std::string body;
  std::string location;
};

class sim_bidder {
 public:
  virtual ~sim_bidder() = default;
  virtual std::string name() const = 0;
  /// Whether bid() needs the request's JSON, and notices, clicks and conversions go out.
  virtual bool live() const { return false; }
  virtual bid_answer bid(const opportunity& o, const std::string& request_json) = 0;
  /// GET of a notice or click URL (its path and query, sent to the bidder's bid port).
  virtual live_status get(const std::string& url) {
    (void)url;
    return {};
  }
  /// POST /admin/conversions of JSON lines.
  virtual live_status post_conversions(const std::string& lines) {
    (void)lines;
    return {};
  }
};

struct http_bidder_options {
  std::string bid_url = "http://127.0.0.1:8080/bid";  // + "/<exchange id>"
  std::string admin_url = "http://127.0.0.1:8081";
  std::string admin_token;
  std::chrono::milliseconds timeout{1000};
};

class http_bidder final : public sim_bidder {
 public:
  /// Errors: a message (not loopback, bad URL).
  static std::unique_ptr<http_bidder> make(const scenario& s, const http_bidder_options& options,
                                           std::string& error);
  std::string name() const override { return "bidder"; }
  bool live() const override { return true; }
  bid_answer bid(const opportunity& o, const std::string& request_json) override;
  live_status get(const std::string& url) override;
  live_status post_conversions(const std::string& lines) override;

 private:
  http_bidder(const scenario& s, const http_bidder_options& options, url_parts bid,
              url_parts admin);
  const scenario& scenario_;
  http_bidder_options options_;
  url_parts bid_url_;
  http_client bid_client_;
  http_client admin_client_;
};

/// Knows the truth: bids the expected value of the best eligible campaign in second-price
/// auctions, and the surplus-maximising bid against the known competitor distribution in
/// first-price ones. With a `fraction` below 1 it bids as if every value were that share of the
/// truth: the most conversions a budget can buy when impressions are ranked by their true worth
/// (the ceiling for a learned model's bid_fraction, docs/learning.md).
class oracle_bidder final : public sim_bidder {
 public:
  oracle_bidder(const scenario& s, const population& users, double fraction = 1)
      : s_(s), users_(users), fraction_(fraction) {}
  std::string name() const override { return "oracle"; }
  bid_answer bid(const opportunity& o, const std::string& request_json) override;

 private:
  const scenario& s_;
  const population& users_;
  double fraction_;
};

/// The baseline: `cpm` for the first campaign (in scenario order) whose targeting matches,
/// when it reaches the floor.
class fixed_bidder final : public sim_bidder {
 public:
  fixed_bidder(const scenario& s, const population& users, double cpm)
      : s_(s), users_(users), cpm_(cpm) {}
  std::string name() const override { return "fixed"; }
  bid_answer bid(const opportunity& o, const std::string& request_json) override;

 private:
  const scenario& s_;
  const population& users_;
  double cpm_;
};

/// The first click URL (an href holding "/click?") in a creative's markup, HTML entities of
/// '&' undone; empty when none.
std::string find_click_url(std::string_view markup);
/// Parses a BidResponse for imp "1". Sets `error` and `detail` on a bad body.
bid_answer parse_bid_response(const scenario& s, std::string_view body);

}  // namespace bidder::sim
