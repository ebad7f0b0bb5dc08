// File: bench/sim/simulator.cpp
#include "bench/sim/simulator.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "bidder/core/json_text.hpp"

namespace bidder::sim {
namespace {

/// Error details kept for the report.
constexpr std::size_t max_samples = 10;

std::string price_text(double cpm) {
  // Whole micros, rounded down: a clearing price must never pass the bid it came from.
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6f", std::floor(cpm * 1e6 + 1e-6) / 1e6);
  return buf;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
}

struct pending_conversion {
  std::uint64_t due_second = 0;
  std::size_t campaign = 0;
  std::size_t exchange = 0;
  std::string line;  // the postback line, without its time (set when sent)
};

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string landing_click_id(std::string_view location) {
  const std::size_t query = location.find('?');
  if (query == std::string_view::npos) return {};
  std::string_view rest = location.substr(query + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    const std::string_view pair = rest.substr(0, rest.find('&'));
    if (pair.starts_with(click_id_parameter) && pair.size() > click_id_parameter.size() &&
        pair[click_id_parameter.size()] == '=') {
      std::string id;
      const std::string_view raw = pair.substr(click_id_parameter.size() + 1);
      auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
      };
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
          id.push_back(static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2])));
          i += 2;
        } else {
          id.push_back(raw[i]);  // a stray '%' is kept as written
        }
      }
      return id;
    }
    if (pair.size() == rest.size()) break;
    rest.remove_prefix(pair.size() + 1);
  }
  return {};
}

void tally::add(const tally& o) {
  requests += o.requests;
  bids += o.bids;
  wins += o.wins;
  clicks += o.clicks;
  conversions += o.conversions;
  spend += o.spend;
  value += o.value;
  expected_value += o.expected_value;
  expected_conversions += o.expected_conversions;
}

bool run_result::same_outcome(const run_result& o) const {
  return requests == o.requests && conversions_pending == o.conversions_pending &&
         stopped_early == o.stopped_early && days == o.days && by_campaign == o.by_campaign &&
         campaign_totals == o.campaign_totals && exchange_totals == o.exchange_totals &&
         total == o.total;
}

int offset_for_local_hour(std::int64_t unix_now, int local_hour) {
  const int utc_hour = static_cast<int>(((unix_now % 86'400) + 86'400) % 86'400 / 3600);
  int hours = ((local_hour - utc_hour) % 24 + 24) % 24;  // 0..23
  if (hours >= 12) hours -= 24;                          // -12..11: a real time zone
  return hours * 60;
}

std::string request_json(const scenario& s, const population& users, const opportunity& o,
                         int utc_offset_minutes) {
  const user& u = users[o.user];
  const site_spec& site = s.sites[o.site];
  const exchange_spec& e = s.exchanges[o.exchange];
  char head[512];
  std::snprintf(head, sizeof head,
                R"({"id":"sim-%llu-%llu","at":%d,"tmax":%u,"cur":["USD"],)"
                R"("imp":[{"id":"1","tagid":"slot-%zu","secure":1,)"
                R"("banner":{"w":300,"h":250,"format":[{"w":300,"h":250}]},)"
                R"("bidfloor":%.2f,"bidfloorcur":"USD"}],)",
                static_cast<unsigned long long>(s.seed), static_cast<unsigned long long>(o.index),
                e.kind == auction_kind::first_price ? 1 : 2, s.tmax_ms, o.site, o.floor_cpm);
  std::string out = head;
  out += R"("site":{"id":"site-)" + std::to_string(o.site) + R"(","domain":)";
  append_json_string(out, site.domain);
  out += R"(,"page":)";
  append_json_string(out, "https://" + site.domain + "/article/" + std::to_string(o.index % 97));
  out += R"(,"publisher":{"id":"pub-)" + std::to_string(o.site) + R"("}},)";
  char device[256];
  std::snprintf(device, sizeof device,
                R"x("device":{"devicetype":%d,"ua":"Mozilla/5.0 (bidsim)","ip":"10.%u.%u.%u",)x"
                R"("geo":{"country":"USA","zip":"%s","utcoffset":%d}},)",
                u.device_type, static_cast<unsigned>(o.user >> 16) & 255,
                static_cast<unsigned>(o.user >> 8) & 255, static_cast<unsigned>(o.user) & 255,
                u.zip.c_str(), utc_offset_minutes);
  out += device;
  out += R"("user":{"buyeruid":)";
  append_json_string(out, u.id);
  out += R"(},"regs":{"coppa":0}})";
  return out;
}

std::string substitute_macros(std::string url, const std::string& auction_id, double price_cpm,
                              int loss_reason, double min_to_win_cpm, bool share_min_to_win) {
  replace_all(url, "${AUCTION_ID}", auction_id);
  replace_all(url, "${AUCTION_IMP_ID}", "1");
  replace_all(url, "${AUCTION_CURRENCY}", "USD");
  replace_all(url, "${AUCTION_PRICE}", price_cpm > 0 ? price_text(price_cpm) : "");
  replace_all(url, "${AUCTION_LOSS}", loss_reason > 0 ? std::to_string(loss_reason) : "");
  replace_all(url, "${AUCTION_MIN_TO_WIN}",
              share_min_to_win && min_to_win_cpm > 0 ? price_text(min_to_win_cpm) : "");
  return url;
}

run_result simulate(const scenario& s, const population& users, sim_bidder& bidder,
                    const simulate_options& options) {
  const auto started = std::chrono::steady_clock::now();
  const auto wall = options.wall_clock ? options.wall_clock : system_now;
  run_result r;
  r.bidder = bidder.name();
  r.days.assign(s.days, tally{});
  r.by_campaign.assign(s.days, std::vector<tally>(s.campaigns.size()));
  r.campaign_totals.assign(s.campaigns.size(), tally{});
  r.exchange_totals.assign(s.exchanges.size(), tally{});
  live_counts& live = r.live;
  auto sample = [&](std::string text) {
    if (live.samples.size() < max_samples) live.samples.push_back(std::move(text));
  };
  auto notice = [&](const char* kind, const std::string& url) {
    const live_status st = bidder.get(url);
    std::string key = kind;
    key += ' ';
    key += st.sent ? std::to_string(st.status) : std::string("failed");
    ++live.notices[key];
    if (st.sent && st.status != 204) sample(key + " (notice refused)");
  };

  // Conversions wait for their simulated due time; a live bidder gets them in batches.
  std::vector<pending_conversion> pending;
  std::vector<pending_conversion> outgoing;
  auto post_outgoing = [&] {
    if (outgoing.empty() || !bidder.live()) {
      outgoing.clear();
      return;
    }
    std::string body;
    const std::string now = std::to_string(wall());
    for (const pending_conversion& c : outgoing) {
      body += c.line;
      body += R"(,"time":)" + now + "}\n";
    }
    const std::size_t n = outgoing.size();
    outgoing.clear();
    const live_status st = bidder.post_conversions(body);
    if (!st.sent || st.status != 200) {
      live.conversions_not_sent += n;
      if (st.sent && st.status != 404) {
        sample("POST /admin/conversions: HTTP " + std::to_string(st.status));
      }
      return;
    }
    live.conversions_posted += n;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(st.body, ec);
    if (ec || !doc.is_object()) {
      sample("POST /admin/conversions: an answer that is not JSON");
      return;
    }
    auto count = [&](const char* key) -> std::uint64_t {
      const boost::json::value* v = doc.as_object().if_contains(key);
      return v != nullptr && v->is_int64() && v->as_int64() >= 0
                 ? static_cast<std::uint64_t>(v->as_int64())
                 : 0;
    };
    live.conversions_accepted += count("accepted");
    live.conversions_unmatched += count("unmatched");
    live.conversions_duplicate += count("duplicate");
    live.conversions_refused += count("refused");
  };
  auto deliver_due = [&](std::uint64_t up_to_second) {
    // `pending` is small (the conversions of the last simulated hours): compact it in place,
    // keeping the order in which the clicks happened.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      pending_conversion& c = pending[i];
      if (c.due_second > up_to_second) {
        if (kept != i) pending[kept] = std::move(c);  // never a self-move: it may empty `c`
        ++kept;
        continue;
      }
      // The run's day (the days since start_day): a conversion is never due before its click.
      const std::uint32_t day = static_cast<std::uint32_t>(c.due_second / 86'400) - s.start_day;
      const double value = s.campaigns[c.campaign].conversion_value;
      r.days[day].conversions += 1;
      r.days[day].value += value;
      r.by_campaign[day][c.campaign].conversions += 1;
      r.by_campaign[day][c.campaign].value += value;
      r.exchange_totals[c.exchange].conversions += 1;
      r.exchange_totals[c.exchange].value += value;
      outgoing.push_back(std::move(c));
      if (outgoing.size() >= options.conversion_batch) post_outgoing();
    }
    pending.resize(kept);
  };

  std::uint64_t limit = total_requests(s);
  if (options.max_requests > 0) limit = std::min(limit, options.max_requests);
  // Request k of the run is request first + k of the market (start_day).
  const std::uint64_t first = first_request(s);
  const std::uint64_t first_second = std::uint64_t{s.start_day} * 86'400;
  std::uint64_t last_hour = first_second / 3600;
  std::uint64_t last_second = first_second;
  for (std::uint64_t k = 0; k < limit; ++k) {
    if (options.max_duration.count() > 0 &&
        std::chrono::steady_clock::now() - started > options.max_duration) {
      r.stopped_early = true;
      break;
    }
    const opportunity o = make_opportunity(s, users, first + k);
    last_second = o.sim_second;
    // Conversions due before this request happen first; live ones go out once an hour.
    deliver_due(o.sim_second);
    if (o.sim_second / 3600 != last_hour) {
      last_hour = o.sim_second / 3600;
      post_outgoing();
    }
    const user& u = users[o.user];
    const exchange_spec& e = s.exchanges[o.exchange];
    tally& day = r.days[o.day - s.start_day];
    std::vector<tally>& camp = r.by_campaign[o.day - s.start_day];
    ++r.requests;
    ++day.requests;
    ++r.exchange_totals[o.exchange].requests;
    for (std::size_t c = 0; c < s.campaigns.size(); ++c) {
      if (eligible(s.campaigns[c], u)) ++camp[c].requests;
    }
    const std::string auction_id = "sim-" + std::to_string(s.seed) + "-" + std::to_string(o.index);
    std::string body;
    if (bidder.live()) {
      body = request_json(s, users, o, offset_for_local_hour(wall(), o.hour));
    }
    bid_answer a = bidder.bid(o, body);
    if (a.late) ++live.late_answers;
    if (a.error != bid_error::none) {
      ++live.bid_errors[bid_error_name(a.error)];
      sample(std::string("bid: ") + bid_error_name(a.error) +
             (a.detail.empty() ? "" : ": " + a.detail));
      continue;
    }
    if (!a.offer) {
      ++live.no_bids;
      continue;
    }
    const bid_offer& offer = *a.offer;
    ++day.bids;
    ++camp[offer.campaign].bids;
    ++r.exchange_totals[o.exchange].bids;
    const auction_result ar =
        run_auction(e.kind, offer.price_cpm, o.floor_cpm, o.highest_competitor_cpm);
    if (!ar.won) {
      if (ar.loss_reason == 100) ++live.bids_below_floor;
      if (bidder.live() && !offer.lurl.empty()) {
        notice("loss", substitute_macros(offer.lurl, auction_id, 0, ar.loss_reason,
                                         ar.min_to_win_cpm, e.shares_min_to_win));
      }
      continue;
    }
    const campaign_spec& c = s.campaigns[offer.campaign];
    tally won;
    won.wins = 1;
    won.spend = ar.clearing_cpm / 1000;
    won.expected_value = expected_value_cpm(s, u, o, offer.campaign) / 1000;
    won.expected_conversions = click_probability(s, c, u, o) * conversion_probability(s, c, u, o);
    if (bidder.live()) {
      if (!offer.nurl.empty()) {
        notice("win", substitute_macros(offer.nurl, auction_id, ar.clearing_cpm, 0, 0, false));
      }
      // The ad rendered: the billable event.
      if (!offer.burl.empty()) {
        notice("bill", substitute_macros(offer.burl, auction_id, ar.clearing_cpm, 0, 0, false));
      }
    }
    std::string click_id;
    if (o.click_draw < click_probability(s, c, u, o)) {
      won.clicks = 1;
      if (bidder.live()) {
        if (offer.click_url.empty()) {
          ++live.clicks_without_url;
        } else {
          ++live.clicks_fired;
          // The exchange substitutes the macros in the markup too (OpenRTB 2.6 §4.4).
          const live_status st = bidder.get(
              substitute_macros(offer.click_url, auction_id, ar.clearing_cpm, 0, 0, false));
          if (st.sent && st.status == 302) {
            ++live.clicks_redirected;
            click_id = landing_click_id(st.location);
          } else {
            sample("click: " + (st.sent ? "HTTP " + std::to_string(st.status) : "no answer"));
          }
        }
      }
      if (o.conversion_draw < conversion_probability(s, c, u, o)) {
        pending_conversion pc;
        pc.due_second = o.sim_second + static_cast<std::uint64_t>(o.conversion_delay_hours * 3600);
        pc.campaign = offer.campaign;
        pc.exchange = o.exchange;
        std::string line = R"({"conversion_id":)";
        append_json_string(line, "sim-" + std::to_string(s.seed) + "-" + std::to_string(o.index) +
                                     "-" + offer.bid_id);
        char value[48];
        std::snprintf(value, sizeof value, R"(,"value":%.2f,"currency":"USD")", c.conversion_value);
        line += value;
        if (!click_id.empty()) {
          line += R"(,"click_id":)";
          append_json_string(line, click_id);
        }
        if (!offer.bid_id.empty()) {
          line += R"(,"bid_id":)";
          append_json_string(line, offer.bid_id);
        }
        line += R"(,"user_ids":[)";
        append_json_string(line, "buyeruid:" + u.id);
        line += R"(],"campaign_id":)";
        append_json_string(line, c.id);
        pc.line = std::move(line);
        pending.push_back(std::move(pc));
      }
    }
    day.add(won);
    camp[offer.campaign].add(won);
    r.exchange_totals[o.exchange].add(won);
  }
  // The end of the last simulated day: later conversions are censored.
  const std::uint64_t end_second = first_second + std::uint64_t{s.days} * 86'400 - 1;
  deliver_due(r.stopped_early || limit < total_requests(s) ? last_second : end_second);
  post_outgoing();
  r.conversions_pending = pending.size();
  for (std::uint32_t d = 0; d < s.days; ++d) {
    r.total.add(r.days[d]);
    for (std::size_t c = 0; c < s.campaigns.size(); ++c) {
      r.campaign_totals[c].add(r.by_campaign[d][c]);
    }
  }
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

}  // namespace bidder::sim
