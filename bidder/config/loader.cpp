#include "bidder/config/loader.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "bidder/config/audience_events.hpp"
#include "bidder/config/audience_expression.hpp"
#include "bidder/config/event_stream.hpp"
#include "bidder/core/names.hpp"

namespace bidder::config {
namespace {

using v1::Campaign;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Exchange and notice key ids go into every notice URL: short keeps the URLs short.
constexpr std::size_t max_short_id_bytes = 32;

bool is_short_id(std::string_view id) {
  return id.size() <= max_short_id_bytes && is_url_safe_name(id);
}

std::string known_list(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Budgets above this (in any currency) are refused as typos; it also keeps budgets in
// billionths of a unit far inside int64.
constexpr double max_budget_units = 1e9;
constexpr std::uint32_t max_attribution_window_seconds = 90 * 86'400;

// The landing page goes into a Location header: printable ASCII only, and no characters that
// would need quoting anywhere it is echoed.
bool is_landing_url(std::string_view url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) return false;
  if (url.size() > 2048) return false;
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\') {
      return false;
    }
  }
  return true;
}

// Protobuf's JSON errors look like "INVALID_ARGUMENT:Cannot find field: foo"; keep the part a
// person needs.
std::string protobuf_reason(const google::protobuf::util::Status& status) {
  std::string message(status.message());
  return message.empty() ? status.ToString() : message;
}

std::string line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

class campaign_checker {
 public:
  campaign_checker(const Campaign& c, const std::set<std::string>& exchanges)
      : c_(c), exchanges_(exchanges) {}

  result<void> check() {
    if (!is_url_safe_name(c_.id())) {
      return fail("id", "use 1 to 128 of A-Z a-z 0-9 - _ . ~ (ids go into notice URLs)");
    }
    if (c_.status() == Campaign::STATUS_UNSPECIFIED) return fail("status", "say ACTIVE or PAUSED");
    if (c_.has_start() && c_.has_end() && c_.end().seconds() <= c_.start().seconds()) {
      return fail("end", "must be after start");
    }
    if (c_.advertiser_domains().empty())
      return fail("advertiser_domains", "at least one is needed");
    if (!std::isfinite(c_.max_cpm()) || c_.max_cpm() <= 0) return fail("max_cpm", "must be > 0");
    if (c_.max_cpm() > 10000) return fail("max_cpm", "more than 10000 is surely a typo");
    if (c_.creatives().empty()) return fail("creatives", "at least one is needed");
    std::set<std::string> creative_ids;
    for (int i = 0; i < c_.creatives_size(); ++i) {
      if (auto r = check_creative(i, creative_ids); !r) return r;
    }
    if (c_.pricing().name().empty()) return fail("pricing.name", "missing (e.g. \"fixed\")");
    if (auto r = check_spend(); !r) return r;
    for (int i = 0; i < c_.targeting().exchanges_size(); ++i) {
      const std::string& x = c_.targeting().exchanges(i);
      if (!exchanges_.contains(x)) {
        return fail("targeting.exchanges[" + std::to_string(i) + "]",
                    "unknown exchange " + quoted(x) + "; known: " + known_list(exchanges_));
      }
    }
    return check_audience();
  }

 private:
  result<void> fail(const std::string& field, std::string_view what) const {
    return make_error(errc::invalid_config,
                      "campaign " + quoted(c_.id()) + ": " + field + ": " + std::string(what));
  }

  result<void> check_creative(int i, std::set<std::string>& ids) const {
    const v1::Creative& cr = c_.creatives(i);
    const std::string where = "creatives[" + std::to_string(i) + "]";
    if (cr.id().empty()) return fail(where + ".id", "missing");
    if (!is_url_safe_name(cr.id())) {
      return fail(where + ".id", "use 1 to 128 of A-Z a-z 0-9 - _ . ~ (ids go into notice URLs)");
    }
    if (!ids.insert(cr.id()).second) return fail(where + ".id", "duplicate " + quoted(cr.id()));
    switch (cr.format_case()) {
      case v1::Creative::kBanner:
        if (cr.banner().sizes().empty()) return fail(where + ".banner.sizes", "at least one");
        for (int s = 0; s < cr.banner().sizes_size(); ++s) {
          const auto& size = cr.banner().sizes(s);
          if (size.w() <= 0 || size.h() <= 0) {
            return fail(where + ".banner.sizes[" + std::to_string(s) + "]", "w and h must be > 0");
          }
        }
        break;
      case v1::Creative::kVideo:
        if (cr.video().duration_seconds() < 0) {
          return fail(where + ".video.duration_seconds", "must not be negative");
        }
        break;
      case v1::Creative::kAudio:
        if (cr.audio().duration_seconds() < 0) {
          return fail(where + ".audio.duration_seconds", "must not be negative");
        }
        break;
      case v1::Creative::kNative:
        break;
      case v1::Creative::FORMAT_NOT_SET:
        return fail(where, "needs one of banner, video, audio, native");
    }
    if (cr.markup().empty()) return fail(where + ".markup", "missing");
    if (!cr.landing_url().empty() && !is_landing_url(cr.landing_url())) {
      return fail(where + ".landing_url",
                  "needs an http:// or https:// URL without spaces, quotes or control characters");
    }
    if (cr.landing_url().empty() && cr.markup().find(click_url_macro) != std::string::npos) {
      return fail(where + ".landing_url",
                  "missing: the markup uses " + std::string(click_url_macro));
    }
    return {};
  }

  // Budgets, pacing and frequency caps (docs/notices-and-spend.md).
  result<void> check_spend() const {
    const auto& budget = c_.budget();
    for (const auto& [name, value] :
         {std::pair<const char*, double>{"budget.daily", budget.daily()},
          std::pair<const char*, double>{"budget.lifetime", budget.lifetime()}}) {
      if (!std::isfinite(value) || value < 0) return fail(name, "must be a number >= 0");
      if (value > max_budget_units) return fail(name, "more than 1e9 is surely a typo");
    }
    if (c_.pacing() == v1::EVEN && budget.daily() <= 0) {
      return fail("pacing", "EVEN spreads the daily budget over the day: set budget.daily");
    }
    for (const auto& [name, value] :
         {std::pair<const char*, std::uint32_t>{"attribution.click_window_seconds",
                                                c_.attribution().click_window_seconds()},
          std::pair<const char*, std::uint32_t>{"attribution.view_window_seconds",
                                                c_.attribution().view_window_seconds()}}) {
      if (value > max_attribution_window_seconds) {
        return fail(name, "at most 7776000 (90 days)");
      }
    }
    for (int i = 0; i < c_.frequency_caps_size(); ++i) {
      const auto& cap = c_.frequency_caps(i);
      const std::string where = "frequency_caps[" + std::to_string(i) + "]";
      if (cap.max_impressions() == 0) return fail(where + ".max_impressions", "must be > 0");
      if (cap.period() == v1::FrequencyCap::PERIOD_UNSPECIFIED) {
        return fail(where + ".period", "say HOUR, DAY or WEEK");
      }
    }
    return {};
  }

  // Nested groups, names, recency, depth and size: config/audience_expression.hpp.
  result<void> check_audience() const {
    auto tree = audience_expression(c_.targeting().audience());
    if (!tree) return fail_whole(tree.error().message);
    return {};
  }

  result<void> fail_whole(std::string_view what) const {
    return make_error(errc::invalid_config,
                      "campaign " + quoted(c_.id()) + ": " + std::string(what));
  }

  const Campaign& c_;
  const std::set<std::string>& exchanges_;
};

result<void> config_error(std::string message) {
  return make_error(errc::invalid_config, std::move(message));
}

// An exchange's bid shading (defaults filled in).
result<void> check_shading(const v1::Shading& s, const std::string& where) {
  if (!v1::Shading::Mode_IsValid(s.mode()))
    return config_error(where + ".mode: OFF, LEARNED or FACTOR");
  if (!(s.min_factor() >= 0.05 && s.min_factor() <= 1)) {
    return config_error(where + ".min_factor: must be in [0.05, 1]");
  }
  if (!(s.exploration_share() >= 0 && s.exploration_share() <= 0.5)) {
    return config_error(where + ".exploration_share: must be in [0, 0.5]");
  }
  if (s.min_observations() < 1 || s.min_observations() > 1'000'000) {
    return config_error(where + ".min_observations: must be 1 to 1000000");
  }
  if (s.half_life_seconds() < 60 || s.half_life_seconds() > 30 * 86400) {
    return config_error(where + ".half_life_seconds: must be 60 to 2592000 (30 days)");
  }
  if (!(s.surplus_tolerance() >= 0 && s.surplus_tolerance() <= 0.5)) {
    return config_error(where + ".surplus_tolerance: must be in [0, 0.5]");
  }
  return {};
}

result<void> check_data_providers(const v1::BidderConfig& config) {
  if (config.data_providers_size() > 64) return config_error("data_providers: at most 64");
  std::set<std::string> ids;
  for (int i = 0; i < config.data_providers_size(); ++i) {
    const v1::DataProvider& p = config.data_providers(i);
    const std::string where = "data_providers[" + std::to_string(i) + "]";
    if (!is_short_id(p.id())) {
      return config_error(where +
                          ".id: use 1 to 32 of A-Z a-z 0-9 - _ . ~ (campaigns name its "
                          "segments \"3p:<id>:<segment id>\")");
    }
    if (!ids.insert(p.id()).second) return config_error(where + ".id: duplicate " + quoted(p.id()));
    if (p.data_ids().empty() && p.data_names().empty() && p.segtax().empty()) {
      return config_error(where +
                          ": give data_ids, data_names or segtax (with none, every provider's "
                          "segments would be read as this one's)");
    }
    for (int j = 0; j < p.data_ids_size(); ++j) {
      if (p.data_ids(j).empty() || p.data_ids(j).size() > 128) {
        return config_error(where + ".data_ids[" + std::to_string(j) + "]: 1 to 128 characters");
      }
    }
    for (int j = 0; j < p.data_names_size(); ++j) {
      if (p.data_names(j).empty() || p.data_names(j).size() > 128) {
        return config_error(where + ".data_names[" + std::to_string(j) + "]: 1 to 128 characters");
      }
    }
    for (int j = 0; j < p.segtax_size(); ++j) {
      if (p.segtax(j) < 1) {
        return config_error(where + ".segtax[" + std::to_string(j) +
                            "]: a taxonomy id is >= 1 (IAB list \"Category Taxonomies\")");
      }
    }
    if (!v1::DataProvider::Origin_IsValid(p.origin())) {
      return config_error(where + ".origin: USER_AND_CONTENT, USER or CONTENT");
    }
  }
  return {};
}

// Fills `ids` with the exchange ids.
result<void> check_exchanges(const v1::BidderConfig& config, std::set<std::string>& ids) {
  if (config.exchanges_size() > max_exchanges) {
    return config_error("exchanges: at most " + std::to_string(max_exchanges));
  }
  for (int i = 0; i < config.exchanges_size(); ++i) {
    const v1::Exchange& x = config.exchanges(i);
    const std::string where = "exchanges[" + std::to_string(i) + "]";
    if (!is_short_id(x.id())) {
      return config_error(where +
                          ".id: use 1 to 32 of A-Z a-z 0-9 - _ . ~ (it goes into "
                          "the bid path and notice URLs)");
    }
    if (!ids.insert(x.id()).second) return config_error(where + ".id: duplicate " + quoted(x.id()));
    if (auto r = check_shading(x.shading(), where + ".shading"); !r) return r;
  }
  if (!ids.contains(config.default_exchange())) {
    return config_error("default_exchange: unknown exchange " + quoted(config.default_exchange()) +
                        "; known: " + known_list(ids));
  }
  return {};
}

bool is_url_safe_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' ||
           c == '-';
  });
}

result<void> check_experiments(const v1::BidderConfig& config) {
  std::set<std::string> campaigns;
  for (const auto& c : config.campaigns()) campaigns.insert(c.id());
  std::set<std::string> ids, in_an_experiment;
  for (int i = 0; i < config.experiments_size(); ++i) {
    const auto& x = config.experiments(i);
    const std::string where = "experiments[" + std::to_string(i) + "].";
    if (!is_url_safe_id(x.id())) {
      return make_error(errc::invalid_config, where + "id: 1 to 64 url-safe characters");
    }
    if (!ids.insert(x.id()).second)
      return make_error(errc::invalid_config, where + "id: duplicate");
    if (x.campaigns().empty()) {
      return make_error(errc::invalid_config, where + "campaigns: at least one");
    }
    for (const auto& c : x.campaigns()) {
      if (!campaigns.contains(c)) {
        return make_error(errc::invalid_config,
                          where + "campaigns: " + quoted(c) + " is not a configured campaign");
      }
      if (!in_an_experiment.insert(c).second) {
        return make_error(errc::invalid_config,
                          where + "campaigns: " + quoted(c) + " is already in an experiment");
      }
    }
    if (x.arms_size() < 2 || x.arms_size() > 8) {
      return make_error(errc::invalid_config, where + "arms: from 2 to 8");
    }
    std::set<std::string> arms;
    const double most = 1.0 / x.arms_size();
    for (int a = 0; a < x.arms_size(); ++a) {
      const auto& arm = x.arms(a);
      const std::string at = where + "arms[" + std::to_string(a) + "].";
      if (!is_url_safe_id(arm.id())) {
        return make_error(errc::invalid_config, at + "id: 1 to 64 url-safe characters");
      }
      if (!arms.insert(arm.id()).second) {
        return make_error(errc::invalid_config, at + "id: duplicate");
      }
      if (!std::isfinite(arm.share()) || arm.share() <= 0 || arm.share() > most + 1e-9) {
        return make_error(
            errc::invalid_config,
            at + "share: > 0 and at most 1 / (number of arms) = " + std::to_string(most));
      }
      if (arm.holdout() && arm.has_pricing()) {
        return make_error(errc::invalid_config, at + "pricing: a holdout arm never bids");
      }
    }
  }
  return {};
}

result<void> check_conversion_pixels(const v1::BidderConfig& config) {
  std::set<std::string> ids;
  for (int i = 0; i < config.conversion_pixels_size(); ++i) {
    const auto& px = config.conversion_pixels(i);
    const std::string where = "conversion_pixels[" + std::to_string(i) + "].";
    const bool url_safe = std::all_of(px.id().begin(), px.id().end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' ||
             c == '-';
    });
    if (px.id().size() < 16 || px.id().size() > 128 || !url_safe) {
      return make_error(errc::invalid_config,
                        where + "id: 16 to 128 url-safe characters (it must not be guessable)");
    }
    if (!ids.insert(px.id()).second) {
      return make_error(errc::invalid_config, where + "id: duplicate");
    }
    // Domains compare without case (the snapshot lower-cases them).
    auto same_domain = [](std::string_view a, std::string_view b) {
      return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
             });
    };
    bool known = false;
    for (const auto& c : config.campaigns()) {
      for (const auto& d : c.advertiser_domains()) known = known || same_domain(d, px.advertiser());
    }
    if (!known) {
      return make_error(errc::invalid_config,
                        where + "advertiser: not one of the campaigns' advertiser_domains");
    }
    if (!std::isfinite(px.max_value()) || px.max_value() < 0 || px.max_value() > 1e9) {
      return make_error(errc::invalid_config, where + "max_value: a number from 0 to 1e9");
    }
  }
  return {};
}

result<void> check_notice_keys(const v1::BidderConfig& config) {
  if (config.notice_keys().empty()) {
    if (!config.notice_signing_key().empty()) {
      return config_error("notice_signing_key: names a key of notice_keys, which is empty");
    }
    return {};
  }
  if (!config.notice_key_file().empty()) {
    return config_error("notice_key_file: give either notice_key_file or notice_keys, not both");
  }
  std::set<std::string> ids;
  for (int i = 0; i < config.notice_keys_size(); ++i) {
    const v1::NoticeKey& k = config.notice_keys(i);
    const std::string where = "notice_keys[" + std::to_string(i) + "]";
    if (!is_short_id(k.id())) {
      return config_error(where +
                          ".id: use 1 to 32 of A-Z a-z 0-9 - _ . ~ (it goes into "
                          "notice URLs)");
    }
    if (!ids.insert(k.id()).second) return config_error(where + ".id: duplicate " + quoted(k.id()));
    if (k.file().empty()) return config_error(where + ".file: missing");
  }
  if (!ids.contains(config.notice_signing_key())) {
    return config_error("notice_signing_key: unknown key " + quoted(config.notice_signing_key()) +
                        "; known: " + known_list(ids));
  }
  return {};
}

// The base goes as it is into every notice and click URL the bidder writes, in JSON and
// protobuf answers and inside markup: an absolute http(s) URL of RFC 3986 characters only, and
// no query or fragment (the bidder appends a path and its own query). Answers then need no
// escaping of it (openrtb::bid::urls_json_safe).
result<void> check_notice_base_url(std::string_view url) {
  constexpr std::size_t max_bytes = 256;
  const bool http = url.starts_with("http://") || url.starts_with("https://");
  const std::string_view rest = http ? url.substr(url.find("://") + 3) : std::string_view();
  if (rest.empty() || rest.front() == '/') {
    return config_error(
        "notice_base_url: needs an absolute http:// or https:// URL with a host, got " +
        quoted(url));
  }
  if (url.size() > max_bytes) {
    return config_error("notice_base_url: at most 256 bytes (every notice URL carries it)");
  }
  for (const char c : url) {
    const bool allowed =
        std::isalnum(static_cast<unsigned char>(c)) ||
        std::string_view("-._~:/@!$&'()*+,;=%[]").find(c) != std::string_view::npos;
    if (!allowed) {
      const bool query = c == '?' || c == '#';
      return config_error(
          "notice_base_url: " +
          (query ? std::string("no query or fragment: the bidder appends its own")
                 : "character " + quoted(std::string(1, c)) +
                       " not allowed (letters, digits and - . _ ~ : / @ ! $ & ' ( ) * + , ; = % "
                       "[ ] only; percent-encode the rest)"));
    }
  }
  return {};
}

void apply_defaults(v1::BidderConfig& config) {
  if (config.seat().empty()) config.set_seat("bidder");
  if (config.default_tmax_ms() == 0) config.set_default_tmax_ms(100);
  if (config.network_allowance_ms() == 0) config.set_network_allowance_ms(15);
  if (config.max_body_bytes() == 0) config.set_max_body_bytes(256 * 1024);
  if (config.notice_base_url().empty()) config.set_notice_base_url("http://127.0.0.1:8080");
  if (config.max_user_ids() == 0) config.set_max_user_ids(4);
  if (config.notice_max_age_seconds() == 0) config.set_notice_max_age_seconds(3600);
  if (config.reservation_ttl_seconds() == 0) config.set_reservation_ttl_seconds(60);
  if (config.notice_table_slots() == 0) config.set_notice_table_slots(1u << 20);
  if (config.frequency_table_slots() == 0) config.set_frequency_table_slots(1u << 20);
  (*config.mutable_currency_rates())["USD"] = 1.0;
  if (config.exchanges().empty()) {
    v1::Exchange* x = config.add_exchanges();
    x->set_id(std::string(default_exchange_id));
    x->set_count_on(v1::Budget::WIN);
  }
  for (v1::Exchange& x : *config.mutable_exchanges()) {
    if (x.count_on() == v1::Budget::COUNT_ON_UNSPECIFIED) x.set_count_on(v1::Budget::WIN);
    v1::Shading& shading = *x.mutable_shading();
    if (shading.min_factor() == 0) shading.set_min_factor(0.3);
    if (!shading.has_exploration_share()) shading.set_exploration_share(0.05);
    if (shading.min_observations() == 0) shading.set_min_observations(200);
    if (shading.half_life_seconds() == 0) shading.set_half_life_seconds(3600);
    if (!shading.has_surplus_tolerance()) shading.set_surplus_tolerance(0.1);
  }
  if (config.default_exchange().empty()) config.set_default_exchange(config.exchanges(0).id());
  if (config.notice_signing_key().empty() && !config.notice_keys().empty()) {
    config.set_notice_signing_key(config.notice_keys(0).id());
  }
  for (Campaign& c : *config.mutable_campaigns()) {
    if (c.currency().empty()) c.set_currency("USD");
  }
}

result<void> check_settings(const v1::BidderConfig& config) {
  for (const auto& [currency, rate] : config.currency_rates()) {
    // Upper-case, as ISO 4217 writes them: requests' codes are upper-cased to match
    // (openrtb/normalize.hpp), so a lower-case key here could never be found.
    const bool iso_code =
        currency.size() == 3 &&
        std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (!iso_code || !std::isfinite(rate) || rate <= 0) {
      return make_error(
          errc::invalid_config,
          "currency_rates." + currency +
              ": needs a 3-letter upper-case ISO 4217 code (e.g. EUR) and a rate > 0");
    }
  }
  if (config.default_tmax_ms() > 10000) {
    return make_error(errc::invalid_config, "default_tmax_ms: at most 10000");
  }
  if (config.network_allowance_ms() >= config.default_tmax_ms()) {
    return make_error(errc::invalid_config, "network_allowance_ms: must be below default_tmax_ms");
  }
  if (config.max_user_ids() > 16) {
    return make_error(errc::invalid_config, "max_user_ids: at most 16");
  }
  if (config.gdpr_vendor_id() > 65535) {
    return make_error(errc::invalid_config,
                      "gdpr_vendor_id: a Global Vendor List id is at most 65535");
  }
  if (config.notice_max_age_seconds() > 30 * 86400) {
    return make_error(errc::invalid_config, "notice_max_age_seconds: at most 2592000 (30 days)");
  }
  if (config.reservation_ttl_seconds() < 2 || config.reservation_ttl_seconds() > 3600) {
    return make_error(errc::invalid_config, "reservation_ttl_seconds: from 2 to 3600");
  }
  for (const auto& [name, slots] :
       {std::pair<const char*, std::uint32_t>{"notice_table_slots", config.notice_table_slots()},
        std::pair<const char*, std::uint32_t>{"frequency_table_slots",
                                              config.frequency_table_slots()}}) {
    if (slots < 1024 || slots > (1u << 26)) {
      return make_error(errc::invalid_config, std::string(name) + ": from 1024 to 67108864 (2^26)");
    }
  }
  if (auto r = check_notice_base_url(config.notice_base_url()); !r) return r;
  std::set<std::string> exchanges;
  if (auto r = check_exchanges(config, exchanges); !r) return r;
  if (auto r = check_notice_keys(config); !r) return r;
  if (auto r = check_conversion_pixels(config); !r) return r;
  if (auto r = check_audience_events(config.audience_events()); !r) return r;
  if (auto r = check_event_stream(config.event_stream()); !r) return r;
  if (auto r = check_experiments(config); !r) return r;
  if (auto r = check_data_providers(config); !r) return r;
  std::set<std::string> ids;
  for (const Campaign& c : config.campaigns()) {
    if (!ids.insert(c.id()).second) {
      return make_error(errc::invalid_config, "campaign " + quoted(c.id()) + ": id: duplicate");
    }
    if (!config.currency_rates().contains(c.currency())) {
      return make_error(errc::invalid_config, "campaign " + quoted(c.id()) +
                                                  ": currency: " + quoted(c.currency()) +
                                                  " has no entry in currency_rates");
    }
    if (auto r = campaign_checker(c, exchanges).check(); !r) return r;
  }
  for (int i = 0; i < config.demo_users_size(); ++i) {
    if (config.demo_users(i).key().empty()) {
      return make_error(errc::invalid_config, "demo_users[" + std::to_string(i) + "].key: missing");
    }
  }
  return {};
}

}  // namespace

result<std::shared_ptr<const bidder_config>> parse(std::string_view json, std::string_view source) {
  const std::string where(source);
  boost::json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  options.max_depth = 64;
  boost::system::error_code ec;
  boost::json::value root;
  {
    boost::json::stream_parser parser({}, options);
    const std::size_t used = parser.write_some(json.data(), json.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      return make_error(errc::invalid_config, where + ":" + line_column(json, used) +
                                                  ": JSON syntax error: " + ec.message());
    }
    root = parser.release();
  }
  if (!root.is_object()) {
    return make_error(errc::invalid_config, where + ": the config must be a JSON object");
  }
  boost::json::object& object = root.as_object();
  boost::json::value campaigns;
  if (auto it = object.find("campaigns"); it != object.end()) {
    campaigns = it->value();
    object.erase(it);
  }

  auto config = std::make_shared<v1::BidderConfig>();
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  if (auto status = google::protobuf::util::JsonStringToMessage(boost::json::serialize(object),
                                                                config.get(), strict);
      !status.ok()) {
    return make_error(errc::invalid_config, where + ": " + protobuf_reason(status));
  }
  if (!campaigns.is_null()) {
    if (!campaigns.is_array()) {
      return make_error(errc::invalid_config, where + ": campaigns: expected an array");
    }
    const auto& list = campaigns.as_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      // Each campaign is decoded alone so its errors can name it.
      std::string name = "#" + std::to_string(i);
      if (list[i].is_object()) {
        if (auto id = list[i].as_object().if_contains("id"); id && id->is_string()) {
          name = quoted(std::string(id->as_string()));
        }
      }
      Campaign* campaign = config->add_campaigns();
      if (auto status = google::protobuf::util::JsonStringToMessage(boost::json::serialize(list[i]),
                                                                    campaign, strict);
          !status.ok()) {
        return make_error(errc::invalid_config,
                          where + ": campaign " + name + ": " + protobuf_reason(status));
      }
      if (campaign->id().empty()) {
        return make_error(errc::invalid_config, where + ": campaign " + name + ": id: missing");
      }
    }
  }
  return validate(std::move(*config), source);
}

result<std::shared_ptr<const bidder_config>> validate(bidder_config config,
                                                      std::string_view source) {
  apply_defaults(config);
  if (auto r = check_settings(config); !r) {
    return make_error(errc::invalid_config, std::string(source) + ": " + r.error().message);
  }
  return std::shared_ptr<const bidder_config>(std::make_shared<bidder_config>(std::move(config)));
}

field_error field_of(std::string_view message) {
  // "<source>: campaign \"<id>\": <path>: <what>" (campaign_checker::fail) or
  // "<source>: <path>: <what>" (the settings' checks).
  constexpr std::string_view campaign_mark = "campaign \"";
  std::string prefix;
  if (const std::size_t at = message.find(campaign_mark); at != std::string_view::npos) {
    const std::size_t close = message.find("\": ", at + campaign_mark.size());
    if (close != std::string_view::npos) {
      message.remove_prefix(close + 3);
      prefix = "campaign";
    }
  } else if (const std::size_t colon = message.find(": "); colon != std::string_view::npos) {
    message.remove_prefix(colon + 2);  // the source
  }
  const std::size_t colon = message.find(": ");
  const std::string_view path = message.substr(0, colon);
  const bool is_path = colon != std::string_view::npos && !path.empty() &&
                       std::all_of(path.begin(), path.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                c == '.' || c == '[' || c == ']';
                       });
  if (!is_path) return {prefix, std::string(message)};
  return {prefix.empty() ? std::string(path) : prefix + "." + std::string(path),
          std::string(message.substr(colon + 2))};
}

result<std::shared_ptr<const bidder_config>> load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io_error, path + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(errc::io_error, path + ": read failed");
  return parse(text.str(), path);
}

}  // namespace bidder::config
