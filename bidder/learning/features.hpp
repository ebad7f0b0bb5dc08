// File: bidder/learning/features.hpp
//
// The features a learned pricing model sees, and how they are hashed into its weight table.
// Both sides use this one file: the bid path (the event log writes each bid's features as
// text, the learned model hashes them) and `bidder train` (which reads that text back), so a
// model is trained on exactly what it is later asked about.
//
// A feature is a token "k=value": a one-letter key and the value, lower-cased, with bytes that
// are not printable ASCII (and spaces) replaced by '_', cut to `max_value_bytes`. A segment's
// token also carries its recency bucket, "g=auto-site-visitor:1". The log writes the tokens of
// a bid separated by spaces (`write_text`); the hashes are those of the token text.
//
//   learning::feature_tokens tokens;
//   learning::extract({.request = r, .imp = imp, .segments = s, .segment_names = &dict,
//                      .now = now, .exchange = "openx"}, tokens);
//   learning::hashed_features h;
//   learning::hash_features(tokens, campaign_hash(campaign_id, seed), seed, h);
//
// Changing what extract() produces, or how tokens are hashed, changes every model's meaning:
// bump `feature_version` (model files of another version are refused).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "bidder/core/deadline.hpp"
#include "bidder/core/hash.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/openrtb/bid_request.hpp"

namespace bidder::learning {

inline constexpr std::uint32_t feature_version = 1;
inline constexpr std::size_t max_value_bytes = 48;
/// The most bytes of a bid's tokens as text: extract() stops adding tokens that would not fit,
/// so the tokens the bid path prices are exactly those the event log writes and training reads.
inline constexpr std::size_t max_text_bytes = 255;

/// The keys, in the order extract() emits them.
///   x exchange        s site domain     a app bundle      p publisher id   d device type
///   o OS              c country         r region          z zip            h local hour
///   f slot ("300x250", "v640x480" video, "a" audio, "n" native)          k first category
///   g segment with recency bucket (0: seen < 1 day ago, 1: < 3, 2: < 7, 3: < 14, 4: < 30,
///     5: older or unknown)
struct token {
  char key = 0;
  std::string_view value;  ///< raw; canonicalised when written or hashed
  char bucket = 0;         ///< 'g' tokens: '0'..'5'; 0 otherwise
};

/// A bid's tokens, in a fixed array (no allocation). Numbers are formatted into `digits`, which
/// the tokens' views point into: not copyable.
struct feature_tokens {
  feature_tokens() = default;
  feature_tokens(const feature_tokens&) = delete;
  feature_tokens& operator=(const feature_tokens&) = delete;
  static constexpr std::size_t capacity = 32;  ///< segments beyond it are dropped
  std::array<token, capacity> items;
  std::size_t size = 0;
  std::array<char, 48> digits{};
  std::size_t digits_used = 0;
  std::size_t text_bytes = 0;  ///< what write_text() will write (at most max_text_bytes)
};

struct extract_input {
  const openrtb::bid_request& request;
  const openrtb::imp& imp;
  std::span<const segment_membership> segments;
  /// Names of the segment ids; null: no segment tokens.
  const segment_dictionary* segment_names = nullptr;
  unix_seconds now = 0;
  std::string_view exchange;
};

/// Fills `out` with the request's tokens, in key order, as many as fit max_text_bytes of text
/// (a token that does not fit is left out; later, shorter ones may still be added). noexcept,
/// no allocation.
void extract(const extract_input& in, feature_tokens& out) noexcept;

/// True when `value` is written as itself in a token (lower case, printable, no space, at most
/// max_value_bytes).
bool is_canonical(std::string_view value) noexcept;

/// The recency bucket ('0'..'5') of a segment last seen at `last_seen`.
char recency_bucket(std::int64_t last_seen, unix_seconds now) noexcept;

/// Writes the tokens as "k=v k=v g=name:1" into `buffer`; returns the bytes written (tokens
/// that do not fit whole are left out: give it max_text_bytes to write them all).
std::size_t write_text(const feature_tokens& tokens, std::span<char> buffer) noexcept;

/// The hash of one token's text form (what write_text writes for it).
std::uint64_t token_hash(const token& t, std::uint64_t seed) noexcept;
/// The same from a token's text as the log has it ("s=news.example").
inline std::uint64_t text_hash(std::string_view text, std::uint64_t seed) noexcept {
  return hash64(text, seed);
}

/// A campaign's hash: learned weights are per campaign (crosses) and shared (plain tokens).
std::uint64_t campaign_hash(std::string_view campaign_id, std::uint64_t seed) noexcept;

/// The hashes of a bid's tokens under one seed: the campaign-independent half of
/// hash_features(), computed once per imp and shared by every campaign priced for it.
struct token_hashes {
  std::array<std::uint64_t, feature_tokens::capacity> hash;   ///< the token's
  std::array<std::uint64_t, feature_tokens::capacity> plain;  ///< a segment's without bucket
  std::array<char, feature_tokens::capacity> key;
  std::size_t size = 0;
  std::uint64_t seed = 0;
};
void hash_tokens(const feature_tokens& tokens, std::uint64_t seed, token_hashes& out) noexcept;
/// From the log's text (training). Tokens are separated by single spaces; malformed tokens
/// (no "k=") are skipped; at most feature_tokens::capacity are read.
void hash_tokens(std::string_view text, std::uint64_t seed, token_hashes& out) noexcept;

/// The hashed features of one (bid, campaign): a bias, the campaign's bias, every token and
/// the campaign crossed with every token, a segment also without its bucket, and the crosses
/// site x device type and site x slot.
struct hashed_features {
  static constexpr std::size_t capacity = 4 + 4 * feature_tokens::capacity + 2;
  std::array<std::uint64_t, capacity> items;
  std::size_t size = 0;
};

/// From the token hashes and the campaign's hash (campaign_hash with the same seed).
void hash_features(const token_hashes& tokens, std::uint64_t campaign,
                   hashed_features& out) noexcept;
/// The same from tokens (the bid path) or from the log's text (training), in one step.
void hash_features(const feature_tokens& tokens, std::uint64_t campaign, std::uint64_t seed,
                   hashed_features& out) noexcept;
void hash_features(std::string_view text, std::uint64_t campaign, std::uint64_t seed,
                   hashed_features& out) noexcept;

}  // namespace bidder::learning
