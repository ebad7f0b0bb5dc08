// File: bidder/expression/program.hpp
//
// An audience expression compiled for evaluation: one flat array of nodes in prefix order, each
// node knowing where its subtree ends, with segments as integer ids. The auction evaluates it
// per candidate campaign against the user's sorted memberships; the reach estimator evaluates
// it per stored (or sampled) user. Evaluation allocates nothing, short-circuits like the
// hand-written all_of / any_of / none_of loops it replaces, and recurses at most
// 2 * max_depth + 1 frames (compile() refuses deeper input).
//
// A flat expression {all_of: [a, b], none_of: [c]} compiles to
//   all(end=5) a b none(end=5) c
// so it costs what the three loops cost: one membership search per condition reached.
//
//   auto p = expression::compile(group, [&](std::string_view name) { return dict.intern(name); });
//   if (expression::matches(*p, user_segments, now)) ...
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/expression/expression.hpp"

namespace bidder::expression {

/// A segment id that no membership has: names a store does not know compile to it.
inline constexpr segment_id no_segment = ~segment_id{0};

struct node {
  enum class op : std::uint8_t {
    segment,  // true when the user has `segment`, seen within `within_seconds` (0: ever)
    all,      // true when every child is (no child: true)
    any,      // true when some child is
    none,     // true when no child is
  };
  std::int64_t within_seconds = 0;
  segment_id segment = 0;
  std::uint16_t end = 0;  // index one past this node's subtree
  op kind = op::segment;
};

/// A segment condition of a flat program's lists.
struct flat_condition {
  segment_id segment = 0;
  std::int64_t within_seconds = 0;  // 0: ever
};

class program {
 public:
  /// True for the empty expression: no audience targeting, which matches everyone.
  bool empty() const noexcept { return nodes_.empty(); }
  std::span<const node> nodes() const noexcept { return nodes_; }
  /// True when the expression holds for a user with no segment at all (e.g. only none_of).
  bool matches_no_segments() const noexcept;
  /// True when the expression is one group of segments (every campaign before nesting
  /// existed): matches() then runs three loops over all_of / any_of / none_of, the bid path's
  /// fast path, instead of walking the nodes.
  bool flat() const noexcept { return flat_; }

 private:
  friend result<program> compile(const group&, const std::function<segment_id(std::string_view)>&);
  friend bool matches(const program&, std::span<const segment_membership>, unix_seconds) noexcept;
  std::vector<node> nodes_;
  bool flat_ = false;
  std::vector<flat_condition> all_of_, any_of_, none_of_;  // when flat_
};

/// Compiles a group that passed check(); `resolve` maps each segment name to its id (interning
/// it, or no_segment for a name that cannot match). Errors: invalid_config when `g` fails
/// check().
[[nodiscard]] result<program> compile(const group& g,
                                      const std::function<segment_id(std::string_view)>& resolve);

namespace detail {
bool matches_nodes(const node* nodes, std::span<const segment_membership> segments,
                   unix_seconds now) noexcept;

// The user has the segment, seen within the window. Users hold a handful of segments, so a
// linear scan of the sorted list beats a binary search (as pricing::find_segment).
inline bool seen(segment_id segment, std::int64_t within_seconds,
                 std::span<const segment_membership> segments, unix_seconds now) noexcept {
  for (const segment_membership& m : segments) {
    if (m.segment == segment) return within_seconds == 0 || now - m.last_seen <= within_seconds;
    if (m.segment > segment) break;
  }
  return false;
}
}  // namespace detail

/// True when the user whose memberships are `segments` (sorted by segment id, one entry per
/// segment, the most recent) matches `p` at `now`. The empty program matches. Bid path: no
/// allocation, no lock, thread-safe. Inline: the flat case is the auction's inner loop.
inline bool matches(const program& p, std::span<const segment_membership> segments,
                    unix_seconds now) noexcept {
  if (p.flat_) {
    auto seen = [&](const flat_condition& c) {
      return detail::seen(c.segment, c.within_seconds, segments, now);
    };
    for (const flat_condition& c : p.all_of_) {
      if (!seen(c)) return false;
    }
    if (!p.any_of_.empty() && std::none_of(p.any_of_.begin(), p.any_of_.end(), seen)) {
      return false;
    }
    return std::none_of(p.none_of_.begin(), p.none_of_.end(), seen);
  }
  return p.empty() || detail::matches_nodes(p.nodes_.data(), segments, now);
}

}  // namespace bidder::expression
