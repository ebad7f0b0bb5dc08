#include "bidder/http/bid_handler.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <cmath>
#include <span>

#include "bidder/core/codec.hpp"
#include "bidder/core/gzip.hpp"
#include "bidder/openrtb/json_writer.hpp"

namespace bidder::http {
namespace {

namespace bhttp = boost::beast::http;

// POST /bid/{exchange}: the exchange's id follows this prefix.
constexpr std::string_view exchange_prefix = "/bid/";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// "application/x-protobuf; charset=..." -> protobuf. Anything else (or nothing) is JSON.
bool is_protobuf(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return iequals(content_type, "application/x-protobuf") ||
         iequals(content_type, "application/protobuf") ||
         iequals(content_type, "application/vnd.google.protobuf");
}

}  // namespace

bid_handler::bid_handler(const engine::snapshot_holder& snapshots, audience::store* store,
                         std::uint32_t worker_id, std::uint64_t seed, std::size_t max_body_bytes,
                         const engine::auction_services& services)
    : snapshots_(snapshots),
      auction_(store, worker_id, seed, services),
      max_body_bytes_(max_body_bytes),
      events_(services.events) {
  if (services.signer != nullptr) notices_.emplace(*services.signer, services.events);
}

void bid_handler::on_written(bool late) noexcept {
  if (late) metrics_.add(metrics_.late_answers);
}

void bid_handler::on_evicted() noexcept { metrics_.add(metrics_.evicted_connections); }

void bid_handler::on_refused(unsigned status) noexcept {
  switch (status) {
    case 413:
      metrics_.add(metrics_.too_large);
      break;
    case 408:
      metrics_.add(metrics_.timeouts);
      break;
    default:
      metrics_.add(metrics_.bad_requests);
      break;
  }
}

void bid_handler::refuse(response& res, unsigned status, std::string_view message) {
  res.result(static_cast<bhttp::status>(status));
  res.set(bhttp::field::content_type, "text/plain");
  res.body().assign(message);
  res.body() += '\n';
}

steady_clock::time_point bid_handler::handle(request& req, steady_clock::time_point arrival,
                                             response& res) noexcept {
  try {
    res.set("x-openrtb-version", "2.6");
    std::string_view target = req.target();
    const std::size_t question = target.find('?');
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    target = target.substr(0, question);
    if (auto kind = notice::kind_from_path(target)) {
      // GET only: a HEAD from a link checker or prefetcher must not count as a notice.
      if (req.method() != bhttp::verb::get) {
        metrics_.add(metrics_.unsupported);
        res.set(bhttp::field::allow, "GET");
        refuse(res, 405, "method not allowed: notices and clicks are GET");
        return steady_clock::time_point::max();
      }
      serve_notice(*kind, query, res);
      return steady_clock::time_point::max();
    }
    if (target == "/conversion") {
      if (req.method() != bhttp::verb::get) {
        metrics_.add(metrics_.unsupported);
        res.set(bhttp::field::allow, "GET");
        refuse(res, 405, "method not allowed: the conversion pixel is GET");
        return steady_clock::time_point::max();
      }
      serve_pixel(query, res);
      return steady_clock::time_point::max();
    }
    if (target == "/segment") {
      if (req.method() != bhttp::verb::get) {
        metrics_.add(metrics_.unsupported);
        res.set(bhttp::field::allow, "GET");
        refuse(res, 405, "method not allowed: the segment pixel is GET");
        if (events_ != nullptr) events_->on_segment_pixel_answer(405);
        return steady_clock::time_point::max();
      }
      serve_segment_pixel(query, res);
      if (events_ != nullptr) events_->on_segment_pixel_answer(res.result_int());
      return steady_clock::time_point::max();
    }
    if (target != "/bid" && !target.starts_with(exchange_prefix)) {
      metrics_.add(metrics_.unsupported);
      refuse(res, 404, "not found: the bid endpoint is POST /bid or POST /bid/{exchange}");
      return steady_clock::time_point::max();
    }
    if (req.method() != bhttp::verb::post) {
      metrics_.add(metrics_.unsupported);
      res.set(bhttp::field::allow, "POST");
      refuse(res, 405, "method not allowed: use POST");
      return steady_clock::time_point::max();
    }
    // The exchange is resolved once, against the snapshot this request then runs on.
    const engine::snapshot& snap = snapshots_.get();
    std::optional<std::uint32_t> exchange;
    if (target != "/bid") {
      exchange = snap.find_exchange(target.substr(exchange_prefix.size()));
      if (!exchange) {
        metrics_.add(metrics_.unsupported);
        refuse(res, 404,
               "not found: no such exchange (POST /bid/{exchange} takes an id of the "
               "config's exchanges)");
        return steady_clock::time_point::max();
      }
    }
    metrics_.add(metrics_.requests);
    return serve_bid(snap, exchange, req, arrival, res);
  } catch (...) {
    // Nothing on this path should throw; if it does (e.g. out of memory), answer no-bid rather
    // than a 5xx or a dropped connection (serve_bid's guard has given the budget back).
    metrics_.add(metrics_.internal_errors);
    res.clear();
    res.result(bhttp::status::no_content);
    res.body().clear();
    try {
      res.set("x-openrtb-version", "2.6");
    } catch (...) {  // the header takes memory too: a 204 goes without it
    }
    return steady_clock::time_point::max();
  }
}

bool bid_handler::shed(const request& req, shed_signal why, response& res) noexcept {
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  if (req.method() != bhttp::verb::post ||
      (target != "/bid" && !target.starts_with(exchange_prefix))) {
    return false;
  }
  metrics_.add(metrics_.requests);
  metrics_.add(metrics_.no_bids[static_cast<std::size_t>(engine::no_bid_reason::overload)]);
  metrics_.add(metrics_.shed[static_cast<std::size_t>(why)]);
  res.set("x-openrtb-version", "2.6");
  res.result(bhttp::status::no_content);
  return true;
}

steady_clock::time_point bid_handler::serve_bid(const engine::snapshot& snap,
                                                std::optional<std::uint32_t> exchange, request& req,
                                                steady_clock::time_point arrival, response& res) {
  std::string_view body = req.body();
  if (auto encoding = req[bhttp::field::content_encoding]; !encoding.empty()) {
    if (iequals(encoding, "gzip") || iequals(encoding, "x-gzip")) {
      metrics_.add(metrics_.gzip_requests);
      if (auto r = gunzip(body, max_body_bytes_, inflated_); !r) {
        const bool too_large = r.error().code == errc::too_large;
        metrics_.add(too_large ? metrics_.too_large : metrics_.bad_requests);
        refuse(res, too_large ? 413 : 400, r.error().message);
        return steady_clock::time_point::max();
      }
      body = inflated_;
    } else if (!iequals(encoding, "identity")) {
      metrics_.add(metrics_.unsupported);
      refuse(res, 415, "unsupported Content-Encoding (use gzip or none)");
      return steady_clock::time_point::max();
    }
  }
  const bool protobuf = is_protobuf(req[bhttp::field::content_type]);
  if (protobuf) metrics_.add(metrics_.protobuf_requests);
  auto decoded = protobuf ? proto_.decode(body, request_) : json_.decode(body, request_);
  if (!decoded && decoded.error().code == errc::out_of_memory) {
    metrics_.add(metrics_.internal_errors);  // not the exchange's fault: a no-bid, not a 400
    res.result(bhttp::status::no_content);
    return steady_clock::time_point::max();
  }
  if (!decoded) {
    metrics_.add(metrics_.bad_requests);
    refuse(res, 400, decoded.error().message);
    return steady_clock::time_point::max();
  }

  const engine::request_context ctx{
      .arrival = arrival,
      .deadline = engine::compute_deadline(arrival, request_.tmax_ms, snap.config),
      .wall_now = wall_now(),
      .exchange = exchange};
  if (ctx.deadline.expired(steady_clock::now())) {
    // Worthless before any work: a no-bid at once, not counted as a late answer (the lateness
    // is the exchange's tmax or the request's way here, not this answer's).
    metrics_.add(
        metrics_.no_bids[static_cast<std::size_t>(engine::no_bid_reason::expired_on_arrival)]);
    res.result(bhttp::status::no_content);
    return steady_clock::time_point::max();
  }
  // Budget reserved by the auction's bids goes back on every path that does not send them,
  // an exception included; the bids are reported only once their answer is ready.
  engine::reserved_bids pending(auction_);
  const engine::outcome outcome = auction_.run(snap, request_, ctx, response_);
  const auto done = steady_clock::now();
  metrics_.observe_latency(done - arrival);
  if (!outcome.is_bid() || ctx.deadline.expired(done)) {
    // A bid that is already late is worthless: answer no-bid at once instead.
    const auto reason = outcome.is_bid() ? engine::no_bid_reason::deadline : outcome.reason;
    metrics_.add(metrics_.no_bids[static_cast<std::size_t>(reason)]);
    res.result(bhttp::status::no_content);
    return ctx.deadline.at();
  }
  std::string& out = res.body();
  if (protobuf) {
    if (!openrtb::write_proto_response(response_, out)) {
      metrics_.add(metrics_.internal_errors);  // out of memory: a no-bid, the budget given back
      res.result(bhttp::status::no_content);
      out.clear();
      return ctx.deadline.at();
    }
    res.set(bhttp::field::content_type, "application/x-protobuf");
  } else {
    openrtb::write_json_response(response_, out);
    res.set(bhttp::field::content_type, "application/json");
  }
  if (auto accept = req[bhttp::field::accept_encoding]; !accept.empty() && accepts_gzip(accept)) {
    gzip(out, encoded_);
    out.swap(encoded_);
    res.set(bhttp::field::content_encoding, "gzip");
  }
  metrics_.add(metrics_.bids);
  metrics_.add(metrics_.bid_imps, response_.bids.size());
  pending.sent(request_, response_, ctx.wall_now);
  return ctx.deadline.at();
}

std::string_view landing_url_with_click_id(std::string_view landing_url, std::string_view click_id,
                                           std::string& out) {
  out.clear();
  if (click_id.empty()) return landing_url;
  // Before any #fragment, which the browser keeps to itself.
  const std::size_t hash = landing_url.find('#');
  const std::string_view base = landing_url.substr(0, hash);
  out += base;
  out += base.find('?') == std::string_view::npos ? '?' : '&';
  out += click_id_parameter;
  out += '=';
  append_percent_encoded(out, click_id);
  if (hash != std::string_view::npos) out += landing_url.substr(hash);
  return out;
}

void bid_handler::serve_pixel(std::string_view query, response& res) {
  res.set(bhttp::field::cache_control, "no-store");
  // The parameters, percent-decoded back to back into pixel_text_ (reserved: no moves).
  enum { px, cid, value, cur, bclid, count };
  constexpr std::string_view names[count] = {"px", "cid", "value", "cur", "bclid"};
  std::array<std::string_view, count> got{};
  std::array<bool, count> seen{};
  pixel_text_.clear();
  pixel_text_.reserve(query.size());
  if (query.size() > 2048) return refuse(res, 414, "conversion pixel: query over 2048 bytes");
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    for (std::size_t i = 0; i < count; ++i) {
      if (name != names[i]) continue;
      if (seen[i]) return refuse(res, 400, "conversion pixel: a parameter is repeated");
      seen[i] = true;
      const std::size_t start = pixel_text_.size();
      if (eq != std::string_view::npos &&
          !append_percent_decoded(pixel_text_, pair.substr(eq + 1), true, bad_escape::fail)) {
        return refuse(res, 400, "conversion pixel: malformed %-escape");
      }
      got[i] = std::string_view(pixel_text_).substr(start);
    }
  }
  const engine::snapshot& snap = snapshots_.get();
  const engine::compiled_pixel* pixel = snap.find_pixel(got[px]);
  if (pixel == nullptr) return refuse(res, 404, "conversion pixel: px is not a configured pixel");
  if (got[cid].empty() || got[cid].size() > 256) {
    return refuse(res, 400, "conversion pixel: cid (the order id) missing or over 256 bytes");
  }
  if (got[bclid].empty()) {
    return refuse(res, 400, "conversion pixel: bclid missing (a pixel credits only our clicks)");
  }
  money amount;
  if (!got[value].empty()) {
    double v = -1;
    const auto [end, ec] =
        std::from_chars(got[value].data(), got[value].data() + got[value].size(), v);
    if (ec != std::errc() || end != got[value].data() + got[value].size() || !std::isfinite(v) ||
        v < 0) {
      return refuse(res, 400, "conversion pixel: value is not a number >= 0");
    }
    amount = money::from_units(v);
    if (amount > pixel->max_value) {
      return refuse(res, 400, "conversion pixel: value above the pixel's max_value");
    }
    if (!amount.is_zero() && (got[cur].size() != 3 || snap.rate(got[cur]) <= 0)) {
      return refuse(res, 400, "conversion pixel: cur is not a currency with a rate");
    }
  }
  const unix_seconds now = wall_now();
  if (!pixel->try_take(now)) {
    res.set(bhttp::field::retry_after, "1");
    return refuse(res, 429, "conversion pixel: over its max_per_second");
  }
  const bool queued = events_ != nullptr &&
                      events_->on_pixel_conversion({.advertiser = pixel->advertiser,
                                                    .conversion_id = got[cid],
                                                    .value = amount,
                                                    .currency = amount.is_zero() ? "" : got[cur],
                                                    .click_id = got[bclid],
                                                    .at = now});
  if (!queued) return refuse(res, 503, "conversion pixel: not taken now, try again");
  res.result(bhttp::status::no_content);
}

namespace {

// A pixel's user id names its kind as audience files do (docs/audience.md); the writer thread
// checks the rest. Spaces, control characters and oversize ids are refused here.
bool plausible_user_id(std::string_view id) {
  static constexpr std::string_view kinds[] = {
      "user:", "buyeruid:", "ifa:", "eid:", "uid2:", "id5:"};
  if (id.size() > 600) return false;
  if (std::none_of(std::begin(kinds), std::end(kinds),
                   [&](std::string_view k) { return id.starts_with(k) && id.size() > k.size(); })) {
    return false;
  }
  return std::none_of(id.begin(), id.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

}  // namespace

void bid_handler::serve_segment_pixel(std::string_view query, response& res) {
  res.set(bhttp::field::cache_control, "no-store");
  enum { px, url, action, count };
  constexpr std::string_view names[count] = {"px", "url", "action"};
  std::array<std::string_view, count> got{};
  std::array<bool, count> seen{};
  std::array<std::string_view, engine::max_segment_pixel_ids> ids{};
  std::size_t id_count = 0;
  pixel_text_.clear();
  pixel_text_.reserve(query.size());  // the views below point into it: no reallocation
  if (query.size() > 2048) return refuse(res, 414, "segment pixel: query over 2048 bytes");
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const bool is_id = name == "id";
    std::size_t which = count;
    for (std::size_t i = 0; i < count; ++i) {
      if (name == names[i]) which = i;
    }
    if (!is_id && which == count) continue;  // cache busters and the like
    if (!is_id && seen[which]) return refuse(res, 400, "segment pixel: a parameter is repeated");
    if (is_id && id_count == ids.size()) {
      return refuse(res, 400, "segment pixel: more than 4 id parameters");
    }
    const std::size_t start = pixel_text_.size();
    if (eq != std::string_view::npos &&
        !append_percent_decoded(pixel_text_, pair.substr(eq + 1), true, bad_escape::fail)) {
      return refuse(res, 400, "segment pixel: malformed %-escape");
    }
    const std::string_view value = std::string_view(pixel_text_).substr(start);
    if (is_id) {
      ids[id_count++] = value;
    } else {
      seen[which] = true;
      got[which] = value;
    }
  }
  const engine::snapshot& snap = snapshots_.get();
  const engine::compiled_segment_pixel* pixel = snap.find_segment_pixel(got[px]);
  if (pixel == nullptr) return refuse(res, 404, "segment pixel: px is not a configured pixel");
  if (id_count == 0) {
    return refuse(res, 400, "segment pixel: id missing (a user id, e.g. id=buyeruid:abc)");
  }
  for (std::size_t i = 0; i < id_count; ++i) {
    if (!plausible_user_id(ids[i])) {
      return refuse(res, 400,
                    "segment pixel: id must be user:, buyeruid:, ifa:, eid:<source>:, uid2: or "
                    "id5: and an id without spaces");
    }
  }
  const std::string_view action_name = seen[action] ? got[action] : "page_view";
  if (!pixel->allows(action_name)) {
    return refuse(res, 400, "segment pixel: action is not one this pixel may report");
  }
  for (char c : got[url]) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return refuse(res, 400, "segment pixel: control character in url");
    }
  }
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now().time_since_epoch())
          .count();
  if (!pixel->rate->try_take(now_ns)) {
    res.set(bhttp::field::retry_after, "1");
    return refuse(res, 429, "segment pixel: over its max_per_second");
  }
  const bool queued = events_ != nullptr &&
                      events_->on_segment_pixel(
                          {.source = pixel->source,
                           .user_ids = std::span<const std::string_view>(ids.data(), id_count),
                           .action = action_name,
                           .url = got[url],
                           .at = wall_now()});
  if (!queued) return refuse(res, 503, "segment pixel: not taken now, try again");
  res.result(bhttp::status::no_content);
}

void bid_handler::serve_notice(notice::notice_kind kind, std::string_view query, response& res) {
  res.set(bhttp::field::cache_control, "no-store");
  if (!notices_) {
    metrics_.add(metrics_.unsupported);
    refuse(res, 404, "notices are not enabled on this server");
    return;
  }
  const engine::notice_result r = notices_->process(snapshots_.get(), kind, query, wall_now());
  if (r.priced_at_bid && !r.error) metrics_.add(metrics_.notices_priced_at_bid);
  if (r.error) {
    metrics_.add(metrics_.notice_errors[static_cast<std::size_t>(*r.error)]);
  } else {
    metrics_.add(metrics_.notices[static_cast<std::size_t>(kind)]);
  }
  if (r.status == 302) {
    res.result(bhttp::status::found);
    res.set(bhttp::field::location, landing_url_with_click_id(r.redirect, r.click_id, location_));
    return;
  }
  if (r.status == 204) {
    res.result(bhttp::status::no_content);
    return;
  }
  refuse(res, r.status, r.message);
}

}  // namespace bidder::http
