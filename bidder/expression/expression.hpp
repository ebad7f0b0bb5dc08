// File: bidder/expression/expression.hpp
//
// An audience expression as a campaign manager writes it: a group of segment conditions, each
// a segment with an optional recency ("seen within N days") or a nested group. A group is true
// when every `all_of` condition holds, at least one `any_of` condition holds (when it has any),
// and no `none_of` condition holds. Segment names are plain names, whatever their source:
// first-party pushes ("car-intender"), third-party ("3p:acme:123"), event-derived segments.
//
// This is the control-plane form (names, heap-allocated nesting). It comes from the config
// (config/audience_expression.hpp) or the text syntax (text.hpp), is checked by check(), and
// is compiled into a flat program (program.hpp) that the bid path and the reach estimator
// evaluate.
//
//   expression::group g;
//   g.all_of.push_back({.segment = "car-intender", .within_days = 10});
//   if (auto r = expression::check(g); !r) report(r.error().message);  // "all_of[0]...: ..."
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/core/error.hpp"

namespace bidder::expression {

/// Deepest nesting: the top-level group is depth 1, a group nested in one of its conditions
/// depth 2, and so on. Four levels express any sensible targeting ("in A and (B or (C and not
/// D))"); more is surely a mistake, and the cap bounds the evaluator's recursion.
inline constexpr int max_depth = 4;
/// Most conditions (segments and nested groups, counted over every level) in one expression:
/// the bid path evaluates them per candidate campaign, so their number is its cost.
inline constexpr std::size_t max_conditions = 64;
/// Longest recency window: 100 years (a larger number is a typo).
inline constexpr std::uint32_t max_within_days = 36'500;
/// Longest segment name (core/names.hpp's limit).
inline constexpr std::size_t max_segment_name_bytes = 128;

struct group;

/// One condition: a segment (with recency) or a nested group (`nested` non-null).
struct condition {
  std::string segment;
  /// Only a membership last seen within this many days counts. 0: any time. Segments only.
  std::uint32_t within_days = 0;
  std::unique_ptr<group> nested;
};

struct group {
  std::vector<condition> all_of;
  std::vector<condition> any_of;
  std::vector<condition> none_of;
  bool empty() const noexcept { return all_of.empty() && any_of.empty() && none_of.empty(); }
};

/// A segment name: 1 to 128 of A-Z a-z 0-9 - _ . ~ and ':' (third-party segments are named
/// "3p:<provider>:<id>").
bool is_segment_name(std::string_view name) noexcept;

/// Checks `g` as a whole: every segment name valid, recency at most max_within_days and only on
/// segments, no empty nested group, nesting at most max_depth, at most max_conditions. The
/// top-level group may be empty (no audience targeting). Errors: invalid_config, naming the
/// condition by its path, e.g. `all_of[1].expression.any_of[0].segment: missing`.
[[nodiscard]] result<void> check(const group& g);

/// How many conditions `g` holds, nested ones included.
std::size_t condition_count(const group& g) noexcept;

}  // namespace bidder::expression
