// File: bidder/engine/snapshot.hpp
//
// An immutable, compiled campaign set: campaigns with sorted targeting lists, their pricing
// models, the segment dictionary and the targeting index (targeting_index.hpp). The bid
// path only reads it; a reload builds a new one and swaps it in (snapshot_holder.hpp).
//
//   auto snap = engine::build_snapshot(*config, registry);
//   if (!snap) report(snap.error().message);  // names the campaign and field
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bidder/config/loader.hpp"
#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"
#include "bidder/core/money.hpp"
#include "bidder/core/rate_limiter.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/core/string_map.hpp"
#include "bidder/engine/targeting_index.hpp"
#include "bidder/engine/third_party_data.hpp"
#include "bidder/expression/program.hpp"
#include "bidder/openrtb/bid_response.hpp"
#include "bidder/pricing/model.hpp"
#include "bidder/pricing/registry.hpp"
#include "bidder/shading/shader.hpp"
#include "bidder/spend/account.hpp"
#include "bidder/spend/frequency_table.hpp"
#include "bidder/spend/ledger.hpp"

namespace bidder::engine {

enum class media_kind : std::uint8_t { banner, video, audio, native };

struct compiled_creative {
  std::uint32_t campaign = 0;  // index into snapshot::campaigns
  std::string id;
  media_kind media = media_kind::banner;
  // A banner's sizes are in its campaign's banner_sizes.
  std::vector<std::string> mimes;  // video/audio, sorted
  std::int32_t duration_seconds = 0;
  std::vector<std::int32_t> protocols;  // video/audio VAST protocols, sorted; empty: any
  std::int32_t w = 0, h = 0;            // video player size, when given
  std::string markup;
  /// The markup cut at each config::click_url_macro; one part (the markup) when it has none.
  std::vector<std::string_view> markup_parts;  // views into `markup`
  /// The same parts escaped for a JSON string (append_json_escaped), for JSON answers.
  std::vector<std::string> markup_parts_json;
  std::vector<std::int32_t> attributes;  // sorted
  std::string landing_url;               // empty: no click tracking
};

/// A campaign compiled for the bid path. The auction reads a few fields of every candidate it
/// considers (about ten per request in bench/run-all's traffic), each a cache miss in a set of
/// a thousand campaigns: those fields come first, in the first three cache lines of the
/// (cache-line aligned) struct, which auction::run prefetches ahead of considering them.
struct alignas(64) compiled_campaign {
  // ---- read for every candidate (fitting_creative, campaign_eligible, consider) ----------
  /// Every size of every banner creative, in creative then size order: the auction matches an
  /// imp's formats here, in one contiguous array, instead of loading each creative and its
  /// size list (three cache misses per candidate campaign, the auction's largest cost).
  struct banner_size {
    std::int32_t w = 0, h = 0;
    std::uint32_t creative = 0;  // index into snapshot::creatives
    /// The creative's attributes as bits (attribute_bits): battr is checked without loading it.
    std::uint32_t attributes = 0;
  };
  std::vector<banner_size> banner_sizes;
  std::vector<std::uint32_t> creatives;  // indexes into snapshot::creatives
  std::int64_t start = 0;                // unix seconds; 0: no start
  std::int64_t end = 0;                  // unix seconds; 0: no end
  money max_cpm;
  double rate_per_usd = 1;  // units of `currency` per USD
  std::unique_ptr<pricing::model> model;
  // Spend: the limits from the config, and the campaign's account in the snapshot's ledger
  // (shared, atomics; outlives the snapshot).
  spend::account* account = nullptr;
  /// Index into snapshot::experiments of the experiment the campaign is in; -1: none.
  std::int32_t experiment = -1;
  bool needs_audience = false;  // any audience condition at all
  bool active = false;
  std::vector<std::string> deal_ids;  // sorted
  spend::budget budget;
  std::vector<spend::frequency_cap> frequency_caps;
  /// Where a bid's money goes: an account and the budget it is held to.
  struct spend_slot {
    spend::account* account = nullptr;
    spend::budget budget;
  };
  /// In an experiment, by arm index: the arm's own account ("<campaign>#<experiment>/<arm>")
  /// with the campaign's budget scaled to the arm's share, so arms never compete for one budget.
  /// `account` and `budget` are then those of the traffic in no arm (1 - the shares' sum). Win,
  /// bill, loss and click counts and frequency caps stay on the campaign's own account.
  std::vector<spend_slot> arm_spend;
  /// The slot a bid of arm `arm` (-1: none) spends from.
  spend_slot slot(int arm) const noexcept {
    return arm >= 0 && static_cast<std::size_t>(arm) < arm_spend.size()
               ? arm_spend[static_cast<std::size_t>(arm)]
               : spend_slot{account, budget};
  }
  /// targeting.audience compiled against `snapshot::segments` (empty: no audience targeting).
  expression::program audience;

  // ---- the rest: read by the targeting index's build, for a bid, or off the bid path ------
  std::string id;
  std::vector<std::string> advertiser_domains;
  std::vector<std::string> categories;
  std::string currency;
  std::string advertised_bundle;
  // Targeting; every list sorted (binary search), empty means "any".
  std::vector<std::string> countries, regions, zips, os_lower;
  std::vector<std::int32_t> device_types;
  std::vector<std::string> site_allow, site_block, app_allow, app_block;
  std::string pricing_name;  // the model's name (config pricing.name), for the event log
  /// The highest price its experiment's arm models quote (zero: none has its own model).
  money arms_ceiling;
  /// Attribution windows (config Campaign.attribution, defaults applied), in seconds.
  std::int64_t click_window = 30 * 86'400;
  std::int64_t view_window = 86'400;
  /// Bit i set: the campaign bids on requests from snapshot::exchanges[i].
  std::uint64_t exchange_mask = ~std::uint64_t{0};
};

/// The bits of attribute_bits: one per creative attribute 1..30 (OpenRTB 2.x's list and AdCOM's
/// go to 17), and bit 31 for any other value, which sends the check to the sorted lists.
inline constexpr std::uint32_t other_attributes_bit = std::uint32_t{1} << 31;
inline std::uint32_t attribute_bits(std::int32_t attribute) noexcept {
  return attribute >= 1 && attribute <= 30 ? std::uint32_t{1} << attribute : other_attributes_bit;
}

/// An arm of an experiment (config ExperimentArm).
struct compiled_arm {
  std::string id;
  double share = 0;
  bool holdout = false;
  /// The arm's model; null: the campaign's own.
  std::unique_ptr<pricing::model> model;
  std::string pricing_name;  // its name; empty: the campaign's own
};

/// An experiment (config Experiment): which arm a user is in.
struct compiled_experiment {
  std::string id;
  std::uint64_t salt = 0;  // from the id: another experiment splits users independently
  std::vector<compiled_arm> arms;
  /// The arm of the user whose first id hashes to `user_hash`, or -1 for none. Arm i owns the
  /// slice [i/n, (i+1)/n) of the hash space and takes the first `share * n` of it, so raising a
  /// share only adds users that were in no arm. Pure, no allocation.
  int arm_of(std::uint64_t user_hash) const noexcept;
};

/// A conversion pixel (config ConversionPixel): GET /conversion?px={id}.
struct compiled_pixel {
  std::string id;
  std::string advertiser;  // lower-case
  money max_value;
  std::uint32_t max_per_second = 50;
  /// The rate limit's state, shared by the bid threads: the current second and how many
  /// conversions it took (a fixed one-second window; approximate at its edges, never blocking).
  struct window {
    std::atomic<std::int64_t> second{0};
    std::atomic<std::uint32_t> taken{0};
  };
  std::shared_ptr<window> rate = std::make_shared<window>();
  /// Takes one conversion from this second's allowance; false when it is spent.
  bool try_take(unix_seconds now) const noexcept;
};

/// A segment pixel (config AudienceEvents.pixels): GET /segment?px={id}.
struct compiled_segment_pixel {
  std::string id;
  std::string source;
  std::vector<std::string> actions;  // those it may report; never empty (page_view by default)
  /// Its token bucket, shared by the bid threads (a reload starts a full one, as conversion
  /// pixels' windows).
  std::shared_ptr<rate_limiter> rate;
  bool allows(std::string_view action) const noexcept {
    return std::find(actions.begin(), actions.end(), action) != actions.end();
  }
};

/// An exchange that sends bid requests (config Exchange): POST /bid/{id}.
struct compiled_exchange {
  std::string id;
  std::string name;
  spend::count_on counted_on = spend::count_on::win;
  /// Bid shading on its first-price requests (config Exchange.shading).
  shading::params shading;
  /// Its shading state, in snapshot::shading (never null in a built snapshot).
  shading::exchange_state* shading_state = nullptr;
};

struct settings {
  std::string seat;
  std::uint32_t default_tmax_ms = 100;
  std::uint32_t network_allowance_ms = 15;
  std::string notice_base_url;
  std::uint32_t max_user_ids = 4;
  std::uint16_t gdpr_vendor_id = 0;      // 0: no vendor check (privacy/tcf_consent.hpp)
  std::vector<std::string> eid_sources;  // sorted; empty: any
  string_map<double> currency_rates;     // units per USD
  unix_seconds notice_max_age = 3600;    // seconds
};

struct snapshot {
  settings config;
  std::vector<compiled_campaign> campaigns;
  std::vector<compiled_creative> creatives;
  segment_dictionary segments;
  // True when some campaign can use the user's segments: it targets an audience, or its pricing
  // model reads segments (pricing::model::uses_audience). Otherwise the auction skips the
  // audience look-up, which is most of a request's cost when it runs.
  bool needs_audience_lookup = false;
  // Which campaigns a request and each of its slots can reach, built once per load so a request
  // pays for the campaigns that match it, not for every campaign (targeting_index.hpp).
  targeting_index targeting;
  /// Campaign id -> index into `campaigns` (notices find their campaign by id).
  std::unordered_map<std::string_view, std::uint32_t> campaign_by_id;
  /// The configured exchanges (at most config::max_exchanges); never empty.
  std::vector<compiled_exchange> exchanges;
  /// Index into `exchanges` of the one POST /bid stands for.
  std::uint32_t default_exchange = 0;
  /// Experiments (config order).
  std::vector<compiled_experiment> experiments;
  /// Third-party segments in requests (config data_providers) that campaigns or models name.
  third_party_data third_party;
  /// Conversion pixels, sorted by id.
  std::vector<compiled_pixel> pixels;
  /// The pixel `id`, or null.
  const compiled_pixel* find_pixel(std::string_view id) const noexcept;
  /// Segment pixels, sorted by id.
  std::vector<compiled_segment_pixel> segment_pixels;
  /// The segment pixel `id`, or null.
  const compiled_segment_pixel* find_segment_pixel(std::string_view id) const noexcept;
  /// The spend state the campaigns' accounts live in; shared with later snapshots.
  std::shared_ptr<spend::ledger> spend;
  /// The bid shading state the exchanges' shading_state live in; shared with later snapshots.
  std::shared_ptr<shading::book> shading;

  static std::uint64_t size_key(std::int32_t w, std::int32_t h) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(w)) << 32) |
           static_cast<std::uint32_t>(h);
  }
  /// Units of `currency` per USD; 0 when the currency is unknown.
  double rate(std::string_view currency) const noexcept;
  /// Index into `exchanges` of the exchange `id`, or nullopt. A scan over a handful of short
  /// ids: no hashing, no allocation (the bid path calls it once per request).
  std::optional<std::uint32_t> find_exchange(std::string_view id) const noexcept;
  /// Which notice counts as spend for campaign `c`'s bids on `exchange`.
  spend::count_on counted_on(const compiled_campaign& c,
                             const compiled_exchange& exchange) const noexcept {
    return c.budget.counted_on.value_or(exchange.counted_on);
  }
  /// The campaign named `id`, or null.
  const compiled_campaign* find_campaign(std::string_view id) const noexcept;
  /// The creative `id` of campaign `c`, or null.
  const compiled_creative* find_creative(const compiled_campaign& c,
                                         std::string_view id) const noexcept;
};

/// The cost, in campaign `c`'s currency, of one impression bought at the CPM `price` in
/// `currency` (a bid's reservation and a notice's release compute it alike). 0 when `currency`
/// has no rate.
spend::amount campaign_cost(const snapshot& snap, const compiled_campaign& c, money price,
                            std::string_view currency) noexcept;

/// The ledger options a config asks for (table sizes, TTL, max age).
spend::ledger_options ledger_options_of(const config::bidder_config& config);

/// Compiles `config` with models from `registry`; campaign accounts live in `ledger` (opened
/// by campaign id, so they survive reloads), whose budgets are set to the config's; the
/// exchanges' shading states in `shading` (opened by exchange id; null: a book of its own).
/// Errors: invalid_config naming the campaign and field (e.g. campaign "x": pricing.name: no
/// model "foo"; known: fixed, rules). Relative file paths in models' configs are relative to
/// `files_dir` (the config file's directory; empty: the working directory).
[[nodiscard]] result<std::shared_ptr<const snapshot>> build_snapshot(
    const config::bidder_config& config, const pricing::registry& registry,
    std::shared_ptr<spend::ledger> ledger, std::shared_ptr<shading::book> shading = nullptr,
    std::string_view files_dir = {});
/// The same with a ledger of its own (tests, check-config).
[[nodiscard]] result<std::shared_ptr<const snapshot>> build_snapshot(
    const config::bidder_config& config, const pricing::registry& registry,
    std::string_view files_dir = {});

}  // namespace bidder::engine
