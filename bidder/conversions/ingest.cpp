#include "bidder/conversions/ingest.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "bidder/core/json_text.hpp"

namespace bidder::conversions {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

result<ingest_result> ingest_postback(conversion_store& store, std::string_view body,
                                      unix_seconds now, const ingest_context& ctx) {
  ingest_result out;
  std::set<std::string, std::less<>> keys_in_body;
  std::optional<error> store_error;
  std::vector<touch> candidates;

  auto timed_read = [&](auto&& read) -> bool {
    const auto start = std::chrono::steady_clock::now();
    auto touches = read();
    out.lookup_nanos +=
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - start)
                                       .count());
    ++out.lookups;
    if (!touches) {
      store_error = std::move(touches.error());
      return false;
    }
    std::move(touches->begin(), touches->end(), std::back_inserter(candidates));
    return true;
  };

  const batch_result parsed =
      parse_postback(body, now, [&](conversion&& c, std::size_t) -> std::optional<std::string> {
        if (store_error) return std::string("not processed: the store failed");
        // Who it belongs to: a configured campaign, and an advertiser of it.
        const campaign_terms* named = nullptr;
        if (!c.campaign_id.empty()) {
          named = ctx.campaign(c.campaign_id);
          if (named == nullptr) return std::string("campaign_id: not a configured campaign");
          if (!c.advertiser.empty() && !contains(named->advertiser_domains, c.advertiser)) {
            return std::string("advertiser: not one of the campaign's advertiser_domains");
          }
        } else if (!ctx.advertiser_known(c.advertiser)) {
          return std::string("advertiser: no configured campaign has this advertiser domain");
        }
        if (!c.currency.empty() && !ctx.convert(c.value, c.currency, c.currency)) {
          return std::string("currency: no rate for ") + c.currency + " in currency_rates";
        }
        std::string key = c.advertiser.empty() ? named->first_advertiser : c.advertiser;
        key += '\n';
        key += c.conversion_id;
        if (keys_in_body.contains(key)) {
          ++out.duplicate;
          return std::nullopt;
        }
        auto stored = store.find_conversion(key);
        if (!stored) {
          store_error = std::move(stored.error());
          return std::string("not processed: the store failed");
        }
        if (stored->has_value()) {
          ++out.duplicate;
          return std::nullopt;
        }

        candidates.clear();
        if (!timed_read([&] { return store.touches_of_bid(c.click_id); }) ||
            !timed_read([&] { return store.touches_of_bid(c.bid_id); })) {
          return std::string("not processed: the store failed");
        }
        for (const std::string& user : c.user_keys) {
          if (!timed_read([&] { return store.touches_of_user(ctx.hash_user(user)); })) {
            return std::string("not processed: the store failed");
          }
        }
        const credit chosen = attribute(c.at, candidates, ctx.campaign, [&](const touch& t) {
          if (!c.campaign_id.empty()) return t.campaign_id == c.campaign_id;
          const campaign_terms* terms = ctx.campaign(t.campaign_id);
          return terms != nullptr && contains(terms->advertiser_domains, c.advertiser);
        });

        stored_conversion s;
        s.dedup_key = key;
        s.conversion_id = c.conversion_id;
        s.at = c.at;
        s.rule = chosen.rule;
        if (chosen.credited != nullptr) {
          const touch& t = *chosen.credited;
          const std::optional<money> value =
              c.currency.empty() ? money() : ctx.convert(c.value, c.currency, t.currency);
          if (!value) {
            return std::string("currency: no rate to convert ") + c.currency + " into " +
                   t.currency;
          }
          s.campaign_id = t.campaign_id;
          s.creative_id = t.creative_id;
          s.bid_id = t.bid_id;
          s.exchange = t.exchange;
          s.currency = t.currency;
          s.value_micros = value->micros();
          s.touch_at = t.at;
          s.arm = t.arm;
          ++out.accepted;
        } else {
          s.campaign_id = c.campaign_id;
          s.currency = c.currency;
          s.value_micros = c.value.micros();
          ++out.unmatched;
          ++out.unmatched_by_reason[static_cast<std::size_t>(chosen.reason)];
        }
        keys_in_body.insert(std::move(key));
        out.committed.push_back(std::move(s));
        return std::nullopt;
      });
  if (store_error) return *store_error;
  out.refused = parsed.refused;
  out.refused_lines = parsed.problems;
  auto ids = store.commit(out.committed);
  if (!ids) return ids.error();
  out.outbox_ids = std::move(*ids);
  return out;
}

std::string to_json(const ingest_result& r) {
  std::string out = "{\"accepted\":" + std::to_string(r.accepted) +
                    ",\"unmatched\":" + std::to_string(r.unmatched) +
                    ",\"duplicate\":" + std::to_string(r.duplicate) +
                    ",\"refused\":" + std::to_string(r.refused) + ",\"unmatched_reasons\":{";
  for (std::size_t i = 0; i < unmatched_reason_count; ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += to_string(static_cast<unmatched_reason>(i));
    out += "\":" + std::to_string(r.unmatched_by_reason[i]);
  }
  out += "},\"refused_lines\":[";
  for (std::size_t i = 0; i < r.refused_lines.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"line\":" + std::to_string(r.refused_lines[i].line) + ",\"reason\":";
    append_json_string(out, r.refused_lines[i].reason);
    out += '}';
  }
  out += "]}\n";
  return out;
}

}  // namespace bidder::conversions
