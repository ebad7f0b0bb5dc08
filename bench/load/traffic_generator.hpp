// File: bench/load/traffic_generator.hpp
//
// Seeded, reproducible synthetic OpenRTB 2.6 traffic and the data set that matches it:
//   - bid requests: site and app, banner/video/native, 1-3 impressions, floors (some in EUR),
//     deals, privacy signals (GDPR with and without consent, US-privacy opt-outs, COPPA),
//     blocked categories and advertisers, and user ids of which a chosen share
//     (`audience_hit`) belong to the known audience;
//   - the audience: `users` known users, each in 1-3 of `segment_count` segments, written as
//     one file per segment (one store key per line, a tab, the last-seen UNIX time: the
//     audience-file format, docs/audience.md), or straight into a store;
//   - a campaign config of `campaigns` campaigns (valid for `bidder check-config`) whose
//     targeting, deals and audience expressions use the same sizes, countries, deals and
//     segments, so the traffic meets real matching work and a realistic bid/no-bid mix.
// Equal options (seed included) give byte-identical output on every platform: the generator
// uses its own SplitMix64 arithmetic, not std::distributions (whose results vary by library).
//
//   traffic_generator gen({.seed = 7, .audience_hit = 0.3, .users = 1'000'000});
//   std::string body = gen.next_request();
//   if (auto r = gen.write_config("campaigns.json"); !r) fail(r.error().message);
//
// Thread-safety: next_request() mutates the generator; everything else is const.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/error.hpp"

namespace bidder::bench {

/// A small, fast, portable RNG (SplitMix64) with the few draws the generator needs.
class split_mix {
 public:
  explicit split_mix(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept;
  /// Uniform in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) noexcept;
  /// Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept;
  /// True with probability p.
  bool chance(double p) noexcept;
  /// Uniform in [0, 1).
  double unit() noexcept;

 private:
  std::uint64_t state_;
};

/// The SplitMix64 finaliser: a bijection on 64-bit values (distinct inputs, distinct outputs).
std::uint64_t mix64(std::uint64_t x) noexcept;

struct traffic_options {
  std::uint64_t seed = 1;
  /// Share of requests whose user.id is a known audience member, 0..1.
  double audience_hit = 0.3;
  /// Known audience size (users in the store).
  std::uint64_t users = 1'000'000;
  /// Campaigns in the generated config.
  std::size_t campaigns = 1000;
  /// Distinct segments; users and audience campaigns draw from them.
  std::size_t segment_count = 32;
  /// Distinct deal ids; deal campaigns and PMP impressions draw from them.
  std::size_t deal_count = 40;
  /// tmax written into every request.
  std::chrono::milliseconds tmax{100};
  /// The seat the generated config bids with (and deals' wseat allow).
  std::string seat = "bidbench-seat";
};

/// One known user: its store key and its memberships (segment name, last seen).
struct audience_member {
  std::string key;
  struct membership {
    std::string segment;
    std::int64_t last_seen = 0;
  };
  std::vector<membership> segments;
};

class traffic_generator {
 public:
  explicit traffic_generator(traffic_options options);

  const traffic_options& options() const noexcept { return options_; }

  /// The next request body (JSON). `known_user`, when given, tells whether its user.id is a
  /// member of the audience.
  std::string next_request(bool* known_user = nullptr);

  /// The user id (without namespace) of known user `index` < users.
  std::string known_user_id(std::uint64_t index) const;
  /// Known user `index` with its memberships; `now` anchors the last-seen times.
  audience_member member(std::uint64_t index, std::int64_t now) const;
  std::string segment_name(std::size_t index) const;
  std::string deal_id(std::size_t index) const;

  /// Calls `fn` for every known user in index order.
  void for_each_member(std::int64_t now,
                       const std::function<void(const audience_member&)>& fn) const;
  /// Writes one file per segment into `dir` (created when missing): `<segment>.txt`, one line
  /// per member, "user:<id>\t<last seen UNIX seconds>". Returns the number of lines written.
  /// Errors: io_error.
  [[nodiscard]] result<std::uint64_t> write_audience(const std::string& dir,
                                                     std::int64_t now) const;

  /// The campaign config as JSON text (protobuf JSON mapping of BidderConfig).
  std::string config_json() const;
  /// Writes config_json() to `path`. Errors: io_error.
  [[nodiscard]] result<void> write_config(const std::string& path) const;

 private:
  void append_imp(std::string& out, split_mix& rng, int index) const;
  void append_user_and_privacy(std::string& out, split_mix& rng, bool& known);

  traffic_options options_;
  split_mix rng_;
  std::uint64_t id_key_;  // keys the user-id hash so two seeds give disjoint populations
  std::uint64_t serial_ = 0;
};

}  // namespace bidder::bench
