#include "bidder/http/reach_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <set>

#include "bidder/core/json_text.hpp"
#include "bidder/expression/text.hpp"
#include "bidder/http/audience_api.hpp"

namespace bidder::http {
namespace {

namespace bhttp = boost::beast::http;

void reply(response& res, bhttp::status status, std::string body) {
  res.result(status);
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.body() += '\n';
}

void reply_error(response& res, bhttp::status status, std::string_view message) {
  std::string body = "{\"error\":";
  append_json_string(body, message);
  body += '}';
  reply(res, status, std::move(body));
}

// The value of `name` in the query string, percent-decoded; false when malformed.
bool query_value(std::string_view query, std::string_view name, std::string& out, bool& found) {
  found = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    found = true;
    return percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                          out, /*plus_is_space=*/true);
  }
  return true;
}

void collect_names(const expression::group& g, std::set<std::string>& out) {
  for (const auto* list : {&g.all_of, &g.any_of, &g.none_of}) {
    for (const expression::condition& c : *list) {
      if (c.nested) {
        collect_names(*c.nested, out);  // depth bounded by parse_text
      } else {
        out.insert(c.segment);
      }
    }
  }
}

void number(std::string& out, std::string_view name, std::uint64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += std::to_string(value);
}

void fraction(std::string& out, std::string_view name, double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", value);
  out += ",\"";
  out += name;
  out += "\":";
  out += text;
}

void serve_estimate(audience::segment_store& store, std::string_view text,
                    audience::estimate_method method, response& res,
                    const traffic_reader& traffic) {
  auto parsed = expression::parse_text(text);
  if (!parsed) {
    return reply_error(res, bhttp::status::bad_request, "expr: " + parsed.error().message);
  }
  const auto start = std::chrono::steady_clock::now();
  auto estimate = store.estimate_reach(*parsed, method, wall_now());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!estimate) {
    const auto status = estimate.error().code == errc::invalid_field ? bhttp::status::bad_request
                        : estimate.error().code == errc::unsupported
                            ? bhttp::status::unprocessable_entity
                            : bhttp::status::service_unavailable;
    return reply_error(res, status, estimate.error().message);
  }
  const audience::reach_estimate& e = *estimate;
  std::string body = "{\"expression\":";
  append_json_string(body, expression::to_text(*parsed));
  body += std::string(",\"exact\":") + (e.exact ? "true" : "false");
  number(body, "matched", e.matched);
  number(body, "low", e.low);
  number(body, "high", e.high);
  body += ",\"confidence\":0.95";
  number(body, "stored_keys", e.stored_keys);
  if (!e.exact) {
    number(body, "sampled_keys", e.sampled_keys);
    number(body, "sampled_matched", e.sampled_matched);
    number(body, "sample_rate", e.scale);
  }
  fraction(body, "seconds", seconds);
  body +=
      ",\"counts\":\"stored keys: a user stored under several ids (user:, ifa:, eid:, ...) "
      "counts once per id\"";
  // Names no push created: usually a typo (third-party and event segments written by other
  // paths are listed here until one of their pushes creates them).
  std::set<std::string> names;
  collect_names(*parsed, names);
  body += ",\"unknown_segments\":[";
  if (auto segments = store.segments()) {
    for (const auto& s : *segments) names.erase(s.name);
    bool first = true;
    for (const std::string& n : names) {
      if (!first) body += ',';
      first = false;
      append_json_string(body, n);
    }
  }
  body += ']';
  if (traffic) {
    // The bid path counts look-ups, not matches per expression: evaluating every expression
    // for every request is a bid-path cost this answer does not add. What the counters give:
    // the share of look-ups that found a stored key, and from it, assuming the bid traffic's
    // known users are like the stored ones, the share of look-ups expected to match.
    const audience_traffic t = traffic();
    body += ",\"bid_traffic\":{\"since\":\"start\"";
    number(body, "requests", t.requests);
    number(body, "lookups", t.lookups);
    number(body, "found", t.found);
    const double found_share =
        t.lookups > 0 ? static_cast<double>(t.found) / static_cast<double>(t.lookups) : 0;
    const double match_share =
        e.stored_keys > 0 ? static_cast<double>(e.matched) / static_cast<double>(e.stored_keys) : 0;
    fraction(body, "found_share", found_share);
    fraction(body, "expected_matching_share", found_share * match_share);
    body +=
        ",\"note\":\"expected_matching_share = found_share x matched / stored_keys: an "
        "estimate from counters the bid path keeps anyway, not a count of matched requests\"}";
  }
  body += '}';
  reply(res, bhttp::status::ok, std::move(body));
}

}  // namespace

bool serve_reach_api(audience::segment_store& store, request& req, response& res,
                     const traffic_reader& traffic) {
  std::string_view target = req.target();
  const std::size_t question = target.find('?');
  if (target.substr(0, question) != "/admin/audience/estimate") return false;
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  const auto verb = req.method();
  if (verb != bhttp::verb::get && verb != bhttp::verb::post) {
    res.set(bhttp::field::allow, "GET, POST");
    reply_error(res, bhttp::status::method_not_allowed, "use GET ?expr=... or POST the expression");
    return true;
  }
  std::string method_text;
  bool found = false;
  if (!query_value(query, "method", method_text, found)) {
    reply_error(res, bhttp::status::bad_request, "method: malformed %-escape");
    return true;
  }
  audience::estimate_method method = audience::estimate_method::automatic;
  if (found) {
    if (method_text == "exact") {
      method = audience::estimate_method::exact;
    } else if (method_text == "sample") {
      method = audience::estimate_method::sample;
    } else if (method_text != "auto") {
      reply_error(res, bhttp::status::bad_request, "method: use auto, exact or sample");
      return true;
    }
  }
  std::string text;
  if (verb == bhttp::verb::get) {
    if (!query_value(query, "expr", text, found)) {
      reply_error(res, bhttp::status::bad_request, "expr: malformed %-escape");
      return true;
    }
    if (!found) {
      reply_error(res, bhttp::status::bad_request,
                  "expr: missing, e.g. ?expr=all(car-intender@10,not(recent-buyer))");
      return true;
    }
  } else {
    text = req.body();
  }
  if (text.size() > expression::max_text_bytes) {
    reply_error(res, bhttp::status::payload_too_large,
                "expr: longer than " + std::to_string(expression::max_text_bytes) + " bytes");
    return true;
  }
  serve_estimate(store, text, method, res, traffic);
  return true;
}

}  // namespace bidder::http
