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

class program {
 public:
  /// True for the empty expression: no audience targeting, which matches everyone.
  bool empty() const noexcept { return nodes_.empty(); }
  std::span<const node> nodes() const noexcept { return nodes_; }
  /// True when the expression holds for a user with no segment at all (e.g. only none_of).
  bool matches_no_segments() const noexcept;

 private:
  friend result<program> compile(const group&, const std::function<segment_id(std::string_view)>&);
  std::vector<node> nodes_;
};

/// Compiles a group that passed check(); `resolve` maps each segment name to its id (interning
/// it, or no_segment for a name that cannot match). Errors: invalid_config when `g` fails
/// check().
[[nodiscard]] result<program> compile(const group& g,
                                      const std::function<segment_id(std::string_view)>& resolve);

/// True when the user whose memberships are `segments` (sorted by segment id, one entry per
/// segment, the most recent) matches `p` at `now`. The empty program matches. Bid path: no
/// allocation, no lock, thread-safe.
bool matches(const program& p, std::span<const segment_membership> segments,
             unix_seconds now) noexcept;

}  // namespace bidder::expression
