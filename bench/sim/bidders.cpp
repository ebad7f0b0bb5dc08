// File: bench/sim/bidders.cpp
#include "bench/sim/bidders.hpp"

#include <boost/json.hpp>
#include <cmath>

namespace bidder::sim {
namespace json = boost::json;

const char* bid_error_name(bid_error e) {
  switch (e) {
    case bid_error::none:
      return "none";
    case bid_error::timeout:
      return "timeout";
    case bid_error::connect:
      return "connect";
    case bid_error::closed:
      return "closed";
    case bid_error::client_error:
      return "4xx";
    case bid_error::server_error:
      return "5xx";
    case bid_error::other_status:
      return "other_status";
    case bid_error::bad_body:
      return "bad_body";
    case bid_error::unknown_campaign:
      return "unknown_campaign";
  }
  return "?";
}

std::string find_click_url(std::string_view markup) {
  const std::size_t at = markup.find("/click?");
  if (at == std::string_view::npos) return {};
  std::size_t begin = markup.rfind("http", at);
  if (begin == std::string_view::npos) return {};
  std::size_t end = markup.find_first_of("\"' >", at);
  if (end == std::string_view::npos) end = markup.size();
  // HTML-escaped ampersands ("&amp;") are undone.
  const std::string_view raw = markup.substr(begin, end - begin);
  std::string url;
  url.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    url.push_back(raw[i]);
    if (raw.substr(i, 5) == "&amp;") i += 4;
  }
  return url;
}

bid_answer parse_bid_response(const scenario& s, std::string_view body) {
  bid_answer a;
  auto bad = [&](std::string why) {
    a.error = bid_error::bad_body;
    a.detail = std::move(why);
    a.offer.reset();
    return a;
  };
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return bad("not a JSON object");
  const json::value* seatbid = doc.as_object().if_contains("seatbid");
  if (seatbid == nullptr || !seatbid->is_array()) return bad("no seatbid array");
  for (const json::value& seat : seatbid->as_array()) {
    const json::value* bids = seat.is_object() ? seat.as_object().if_contains("bid") : nullptr;
    if (bids == nullptr || !bids->is_array()) return bad("a seatbid without a bid array");
    for (const json::value& b : bids->as_array()) {
      if (!b.is_object()) return bad("a bid that is not an object");
      const json::object& o = b.as_object();
      auto text = [&](const char* key) -> std::string {
        const json::value* v = o.if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      const json::value* price = o.if_contains("price");
      if (price == nullptr || !price->is_number()) return bad("bid.price is not a number");
      const double p = price->to_number<double>();
      if (!std::isfinite(p) || p < 0) return bad("bid.price is negative or not finite");
      if (text("impid") != "1") continue;
      bid_offer offer;
      offer.price_cpm = p;
      offer.bid_id = text("id");
      offer.nurl = text("nurl");
      offer.burl = text("burl");
      offer.lurl = text("lurl");
      offer.click_url = find_click_url(text("adm"));
      const std::string cid = text("cid");
      bool found = false;
      for (std::size_t i = 0; i < s.campaigns.size(); ++i) {
        if (s.campaigns[i].id == cid) offer.campaign = i, found = true;
      }
      if (!found) {
        a.error = bid_error::unknown_campaign;
        a.detail = "cid \"" + cid + "\"";
        return a;
      }
      if (!a.offer || offer.price_cpm > a.offer->price_cpm) a.offer = std::move(offer);
    }
  }
  if (!a.offer) return bad("no bid for imp 1");
  return a;
}

std::unique_ptr<http_bidder> http_bidder::make(const scenario& s,
                                               const http_bidder_options& options,
                                               std::string& error) {
  url_parts bid;
  url_parts admin;
  if (!parse_loopback_url(options.bid_url, bid, error)) return nullptr;
  if (!parse_loopback_url(options.admin_url, admin, error)) return nullptr;
  while (bid.target.size() > 1 && bid.target.back() == '/') bid.target.pop_back();
  return std::unique_ptr<http_bidder>(new http_bidder(s, options, bid, admin));
}

http_bidder::http_bidder(const scenario& s, const http_bidder_options& options, url_parts bid,
                         url_parts admin)
    : scenario_(s),
      options_(options),
      bid_url_(bid),
      bid_client_(bid.host, bid.port, options.timeout),
      admin_client_(admin.host, admin.port,
                    std::max(options.timeout, std::chrono::milliseconds(5000))) {}

bid_answer http_bidder::bid(const opportunity& o, const std::string& request_json) {
  const std::string target = bid_url_.target + "/" + scenario_.exchanges[o.exchange].id;
  const auto sent = std::chrono::steady_clock::now();
  const http_outcome r = bid_client_.send("POST", target, request_json, "application/json");
  bid_answer a;
  a.late = std::chrono::steady_clock::now() - sent > std::chrono::milliseconds(scenario_.tmax_ms);
  switch (r.failure) {
    case http_failure::none:
      break;
    case http_failure::timeout:
      a.error = bid_error::timeout;
      return a;
    case http_failure::connect:
      a.error = bid_error::connect;
      return a;
    case http_failure::malformed:
    case http_failure::closed:
      a.error = bid_error::closed;
      a.detail = failure_name(r.failure);
      return a;
  }
  if (r.status == 204) return a;
  if (r.status == 200) return parse_bid_response(scenario_, r.body);
  a.error = r.status >= 500   ? bid_error::server_error
            : r.status >= 400 ? bid_error::client_error
                              : bid_error::other_status;
  a.detail = "HTTP " + std::to_string(r.status);
  return a;
}

live_status http_bidder::get(const std::string& url) {
  // Notices go to the bidder bidsim bids against, whatever host the URL names (its
  // notice_base_url may name another port, e.g. in tests on port 0).
  const std::size_t scheme = url.find("://");
  const std::size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  live_status st;
  if (path == std::string::npos) return st;
  const http_outcome r = bid_client_.send("GET", url.substr(path));
  if (r.failure != http_failure::none) return st;
  st.sent = true;
  st.status = r.status;
  st.location = r.location;
  return st;
}

live_status http_bidder::post_conversions(const std::string& lines) {
  const http_outcome r = admin_client_.send("POST", "/admin/conversions", lines,
                                            "application/x-ndjson", options_.admin_token);
  live_status st;
  if (r.failure != http_failure::none) return st;
  st.sent = true;
  st.status = r.status;
  st.body = r.body;
  return st;
}

bid_answer oracle_bidder::bid(const opportunity& o, const std::string&) {
  const user& u = users_[o.user];
  const exchange_spec& e = s_.exchanges[o.exchange];
  std::optional<std::size_t> best;
  double best_value = 0;
  for (std::size_t c = 0; c < s_.campaigns.size(); ++c) {
    if (!eligible(s_.campaigns[c], u)) continue;
    const double v = fraction_ * expected_value_cpm(s_, u, o, c);
    if (!best || v > best_value) best = c, best_value = v;
  }
  bid_answer a;
  if (!best) return a;
  double price = 0;
  if (e.kind == auction_kind::second_price) {
    // Truthful: the expected value, to the cent below.
    price = std::floor(best_value * 100) / 100;
  } else {
    const auto shaded = best_first_price_bid(e, best_value, o.floor_cpm);
    if (!shaded) return a;
    price = *shaded;
  }
  if (price < o.floor_cpm || price <= 0) return a;
  a.offer.emplace();
  a.offer->campaign = *best;
  a.offer->price_cpm = price;
  return a;
}

bid_answer fixed_bidder::bid(const opportunity& o, const std::string&) {
  bid_answer a;
  if (cpm_ < o.floor_cpm) return a;
  const user& u = users_[o.user];
  for (std::size_t c = 0; c < s_.campaigns.size(); ++c) {
    if (eligible(s_.campaigns[c], u)) {
      a.offer.emplace();
      a.offer->campaign = c;
      a.offer->price_cpm = cpm_;
      return a;
    }
  }
  return a;
}

}  // namespace bidder::sim
