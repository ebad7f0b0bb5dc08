#include "bidder/http/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace bidder::http {
namespace {

using counter = bid_metrics::counter;

std::uint64_t sum(std::span<const bid_metrics* const> workers, counter bid_metrics::*field) {
  std::uint64_t total = 0;
  for (const bid_metrics* w : workers) total += (w->*field).load(std::memory_order_relaxed);
  return total;
}

// The sum of element `i` of an array of counters.
template <std::size_t N>
std::uint64_t sum_at(std::span<const bid_metrics* const> workers,
                     std::array<counter, N> bid_metrics::*field, std::size_t i) {
  std::uint64_t total = 0;
  for (const bid_metrics* w : workers) total += (w->*field)[i].load(std::memory_order_relaxed);
  return total;
}

}  // namespace

void write_metric_line(std::string& out, std::string_view name, std::string_view labels,
                       std::uint64_t value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

namespace {

void gauge(std::string& out, std::string_view name, std::string_view labels, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  out += name;
  out += '{';
  out += labels;
  out += "} ";
  out += buffer;
  out += '\n';
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void bid_metrics::observe_latency(steady_clock::duration d) noexcept {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  const auto bucket = std::lower_bound(latency_bucket_us.begin(), latency_bucket_us.end(),
                                       static_cast<std::uint64_t>(std::max<std::int64_t>(us, 0))) -
                      latency_bucket_us.begin();
  add(latency[static_cast<std::size_t>(bucket)]);
  add(latency_sum_us, static_cast<std::uint64_t>(std::max<std::int64_t>(us, 0)));
}

void write_prometheus(std::span<const bid_metrics* const> workers,
                      std::span<const engine::audience_stats* const> audience, std::string& out) {
  header(out, "bidder_requests_total", "counter", "Requests received on POST /bid.");
  write_metric_line(out, "bidder_requests_total", "", sum(workers, &bid_metrics::requests));
  header(out, "bidder_bids_total", "counter", "Answers with a bid (HTTP 200).");
  write_metric_line(out, "bidder_bids_total", "", sum(workers, &bid_metrics::bids));
  header(out, "bidder_bid_imps_total", "counter", "Impressions bid on.");
  write_metric_line(out, "bidder_bid_imps_total", "", sum(workers, &bid_metrics::bid_imps));
  header(out, "bidder_no_bids_total", "counter", "No-bid answers (HTTP 204) by reason.");
  for (std::size_t r = 0; r < static_cast<std::size_t>(engine::no_bid_reason::count_); ++r) {
    write_metric_line(
        out, "bidder_no_bids_total",
        "reason=\"" + std::string(engine::to_string(static_cast<engine::no_bid_reason>(r))) + "\"",
        sum_at(workers, &bid_metrics::no_bids, r));
  }
  header(out, "bidder_errors_total", "counter", "Refused requests by kind.");
  write_metric_line(out, "bidder_errors_total", "kind=\"bad_request\"",
                    sum(workers, &bid_metrics::bad_requests));
  write_metric_line(out, "bidder_errors_total", "kind=\"too_large\"",
                    sum(workers, &bid_metrics::too_large));
  write_metric_line(out, "bidder_errors_total", "kind=\"unsupported\"",
                    sum(workers, &bid_metrics::unsupported));
  write_metric_line(out, "bidder_errors_total", "kind=\"timeout\"",
                    sum(workers, &bid_metrics::timeouts));
  write_metric_line(out, "bidder_errors_total", "kind=\"internal\"",
                    sum(workers, &bid_metrics::internal_errors));
  header(out, "bidder_shed_total", "counter",
         "Bid requests shed (the overload no-bids) by signal: queued (waited for the worker "
         "longer than --shed-queued-ms) or busy (the worker busy past --shed-busy).");
  write_metric_line(
      out, "bidder_shed_total", "signal=\"queued\"",
      sum_at(workers, &bid_metrics::shed, static_cast<std::size_t>(shed_signal::queued)));
  write_metric_line(
      out, "bidder_shed_total", "signal=\"busy\"",
      sum_at(workers, &bid_metrics::shed, static_cast<std::size_t>(shed_signal::busy)));
  header(out, "bidder_late_answers_total", "counter",
         "Answers written after the request's deadline (target: 0).");
  write_metric_line(out, "bidder_late_answers_total", "", sum(workers, &bid_metrics::late_answers));
  header(out, "bidder_connections_evicted_total", "counter",
         "Connections closed to make room for a new one at the per-thread connection cap: the "
         "ones that went longest without completing a request.");
  write_metric_line(out, "bidder_connections_evicted_total", "",
                    sum(workers, &bid_metrics::evicted_connections));
  header(out, "bidder_gzip_requests_total", "counter", "Requests with a gzip body.");
  write_metric_line(out, "bidder_gzip_requests_total", "",
                    sum(workers, &bid_metrics::gzip_requests));
  header(out, "bidder_protobuf_requests_total", "counter", "Requests in protobuf.");
  write_metric_line(out, "bidder_protobuf_requests_total", "",
                    sum(workers, &bid_metrics::protobuf_requests));

  header(out, "bidder_audience_lookups_total", "counter", "Audience store reads by result.");
  std::uint64_t lookups = 0, found = 0, cold = 0, failed = 0, privacy = 0;
  for (const engine::audience_stats* a : audience) {
    lookups += a->lookups.load(std::memory_order_relaxed);
    found += a->found.load(std::memory_order_relaxed);
    cold += a->not_in_memory.load(std::memory_order_relaxed);
    failed += a->failed.load(std::memory_order_relaxed);
    privacy += a->skipped_for_privacy.load(std::memory_order_relaxed);
  }
  write_metric_line(out, "bidder_audience_lookups_total", "result=\"found\"", found);
  // The counters are read at slightly different moments, so the difference is floored at 0.
  const std::uint64_t known = found + cold + failed;
  write_metric_line(out, "bidder_audience_lookups_total", "result=\"not_found\"",
                    lookups > known ? lookups - known : 0);
  write_metric_line(out, "bidder_audience_lookups_total", "result=\"not_in_memory\"", cold);
  write_metric_line(out, "bidder_audience_lookups_total", "result=\"failed\"", failed);
  header(out, "bidder_audience_skipped_for_privacy_total", "counter",
         "Requests whose privacy signals forbid audience data.");
  write_metric_line(out, "bidder_audience_skipped_for_privacy_total", "", privacy);

  header(out, "bidder_request_duration_seconds", "histogram",
         "Time from a request's arrival to its answer being ready.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < latency_bucket_us.size(); ++b) {
    for (const bid_metrics* w : workers)
      cumulative += w->latency[b].load(std::memory_order_relaxed);
    std::string le = b + 1 == latency_bucket_us.size()
                         ? std::string("+Inf")
                         : std::to_string(static_cast<double>(latency_bucket_us[b]) / 1e6);
    write_metric_line(out, "bidder_request_duration_seconds_bucket", "le=\"" + le + "\"",
                      cumulative);
  }
  out += "bidder_request_duration_seconds_sum " +
         std::to_string(static_cast<double>(sum(workers, &bid_metrics::latency_sum_us)) / 1e6) +
         "\n";
  write_metric_line(out, "bidder_request_duration_seconds_count", "", cumulative);

  header(out, "bidder_notices_total", "counter",
         "Notices and clicks applied, by kind (replays and refusals excluded).");
  for (std::size_t k = 0; k < static_cast<std::size_t>(notice::notice_kind::count_); ++k) {
    write_metric_line(
        out, "bidder_notices_total",
        "kind=\"" + std::string(notice::to_string(static_cast<notice::notice_kind>(k))) + "\"",
        sum_at(workers, &bid_metrics::notices, k));
  }
  header(out, "bidder_notices_priced_at_bid_total", "counter",
         "Wins and bills whose ${AUCTION_PRICE} was encrypted (unreadable): the bid price, an "
         "upper bound, was charged instead. Ask the exchange for the clear price.");
  write_metric_line(out, "bidder_notices_priced_at_bid_total", "",
                    sum(workers, &bid_metrics::notices_priced_at_bid));
  header(out, "bidder_notice_errors_total", "counter",
         "Notices and clicks that changed nothing, by reason.");
  for (std::size_t r = 0; r < static_cast<std::size_t>(engine::notice_error::count_); ++r) {
    write_metric_line(
        out, "bidder_notice_errors_total",
        "reason=\"" + std::string(engine::to_string(static_cast<engine::notice_error>(r))) + "\"",
        sum_at(workers, &bid_metrics::notice_errors, r));
  }
}

void write_spend_prometheus(const engine::snapshot& snap, std::string& out) {
  const unix_seconds now = wall_now();
  // A campaign in an experiment spends from one account per arm besides its own (the traffic
  // in no arm): each gets its series, labelled arm="experiment/arm"; sum them for the campaign.
  auto for_each_slot = [&](auto&& fn) {
    for (const auto& c : snap.campaigns) {
      const std::string who = "campaign=\"" + c.id + "\",currency=\"" + c.currency + "\"";
      fn(who, engine::compiled_campaign::spend_slot{c.account, c.budget});
      for (std::size_t a = 0; a < c.arm_spend.size(); ++a) {
        const auto& x = snap.experiments[static_cast<std::size_t>(c.experiment)];
        fn(who + ",arm=\"" + x.id + "/" + x.arms[a].id + "\"", c.arm_spend[a]);
      }
    }
  };
  header(out, "bidder_campaign_spend", "gauge",
         "Spend in the campaign's currency: today (UTC) and over its life.");
  for_each_slot([&](const std::string& who, const engine::compiled_campaign::spend_slot& s) {
    gauge(out, "bidder_campaign_spend", who + ",period=\"day\"",
          spend::units_of(s.account->spent_day(now)));
    gauge(out, "bidder_campaign_spend", who + ",period=\"lifetime\"",
          spend::units_of(s.account->spent_lifetime()));
  });
  header(out, "bidder_campaign_budget_left", "gauge",
         "Budget left (budget - spend - reserved), by limit; campaigns with that limit only.");
  for_each_slot([&](const std::string& who, const engine::compiled_campaign::spend_slot& s) {
    const spend::amount reserved = s.account->reserved();
    if (s.budget.daily > 0) {
      gauge(out, "bidder_campaign_budget_left", who + ",period=\"day\"",
            spend::units_of(s.budget.daily - s.account->spent_day(now) - reserved));
    }
    if (s.budget.lifetime > 0) {
      gauge(out, "bidder_campaign_budget_left", who + ",period=\"lifetime\"",
            spend::units_of(s.budget.lifetime - s.account->spent_lifetime() - reserved));
    }
  });
  header(out, "bidder_campaign_reserved", "gauge",
         "Price of the campaign's bids still waiting for a notice (reserved against its budget).");
  for_each_slot([&](const std::string& who, const engine::compiled_campaign::spend_slot& s) {
    gauge(out, "bidder_campaign_reserved", who, spend::units_of(s.account->reserved()));
  });
  header(out, "bidder_campaign_pacing_rate", "gauge",
         "Share of eligible requests the pacing throttle lets the campaign bid on (1: all).");
  for (const auto& c : snap.campaigns) {
    gauge(out, "bidder_campaign_pacing_rate", "campaign=\"" + c.id + "\"",
          c.account->pacing_rate());
  }
  struct event_counter {
    const char* name;
    const char* help;
    std::uint64_t (spend::account::*read)() const noexcept;
  };
  static constexpr event_counter counters[] = {
      {"bidder_campaign_wins_total", "Win notices applied (a bill without a win counts as one).",
       &spend::account::wins},
      {"bidder_campaign_bills_total", "Billing notices applied.", &spend::account::bills},
      {"bidder_campaign_losses_total", "Loss notices applied.", &spend::account::losses},
      {"bidder_campaign_clicks_total", "Clicks counted.", &spend::account::clicks},
  };
  for (const event_counter& e : counters) {
    header(out, e.name, "counter", e.help);
    for (const auto& c : snap.campaigns) {
      write_metric_line(out, e.name, "campaign=\"" + c.id + "\"", ((*c.account).*e.read)());
    }
  }
  header(out, "bidder_notice_table_full_total", "counter",
         "Notices applied without being remembered (table full: a replay could count twice).");
  write_metric_line(out, "bidder_notice_table_full_total", "", snap.spend->bids().full());
  header(out, "bidder_frequency_evictions_total", "counter",
         "Frequency-cap entries evicted while still counting this week.");
  write_metric_line(out, "bidder_frequency_evictions_total", "",
                    snap.spend->frequency().evictions());
  header(out, "bidder_spend_journal_dropped_total", "counter",
         "Spend changes not written to disk because the write queue was full.");
  write_metric_line(out, "bidder_spend_journal_dropped_total", "", snap.spend->changes().dropped());
  // Bid shading (docs/bid-shading.md), per exchange that shades: outcomes of shaded bids, and
  // what the wins were worth by their own (unshaded) values against what they cost.
  header(out, "bidder_shading_outcomes_total", "counter",
         "Wins and losses of first-price bids made with shading on, by exchange.");
  for (const auto& x : snap.exchanges) {
    if (x.shading.mode == shading::mode::off || x.shading_state == nullptr) continue;
    const auto t = x.shading_state->outcome_totals();
    const std::string who = "exchange=\"" + x.id + "\"";
    gauge(out, "bidder_shading_outcomes_total", who + ",result=\"win\"",
          static_cast<double>(t.wins));
    gauge(out, "bidder_shading_outcomes_total", who + ",result=\"loss\"",
          static_cast<double>(t.losses));
  }
  header(out, "bidder_shading_won_usd_total", "counter",
         "Shaded bids won, by exchange: the sum of their values (unshaded prices) and of their "
         "clearing prices, in USD; value - paid is the surplus shading kept by the bids' values.");
  for (const auto& x : snap.exchanges) {
    if (x.shading.mode == shading::mode::off || x.shading_state == nullptr) continue;
    const auto t = x.shading_state->outcome_totals();
    const std::string who = "exchange=\"" + x.id + "\"";
    gauge(out, "bidder_shading_won_usd_total", who + ",of=\"value\"", t.value_won / 1000);
    gauge(out, "bidder_shading_won_usd_total", who + ",of=\"paid\"", t.paid / 1000);
  }
}

}  // namespace bidder::http
