#include "bidder/expression/program.hpp"

namespace bidder::expression {
namespace {

constexpr std::int64_t seconds_per_day = 86'400;

class compiler {
 public:
  explicit compiler(const std::function<segment_id(std::string_view)>& resolve)
      : resolve_(resolve) {}

  // A group is all(all_of..., any(any_of...), none(none_of...)); an all() of one child is that
  // child, so {any_of: [a, b]} is any(a, b) and a lone segment is just its node.
  void emit_group(const group& g, std::vector<node>& out) {
    const std::size_t start = out.size();
    out.push_back({.kind = node::op::all});
    std::size_t children = 0;
    for (const condition& c : g.all_of) {
      emit_condition(c, out);
      ++children;
    }
    for (auto [list, kind] : {std::pair{&g.any_of, node::op::any}, {&g.none_of, node::op::none}}) {
      if (list->empty()) continue;
      ++children;
      // any(x) is x: skip the wrapper for one child (none(x) stays: it negates).
      if (kind == node::op::any && list->size() == 1) {
        emit_condition(list->front(), out);
        continue;
      }
      const std::size_t at = out.size();
      out.push_back({.kind = kind});
      for (const condition& c : *list) emit_condition(c, out);
      out[at].end = static_cast<std::uint16_t>(out.size());
    }
    out[start].end = static_cast<std::uint16_t>(out.size());
    if (children == 1) out.erase(out.begin() + static_cast<std::ptrdiff_t>(start));
    // The erase shifted the subtree left by one: its end indexes too.
    if (children == 1) {
      for (std::size_t i = start; i < out.size(); ++i) --out[i].end;
    }
  }

  void emit_condition(const condition& c, std::vector<node>& out) {
    if (c.nested) return emit_group(*c.nested, out);
    node n;
    n.kind = node::op::segment;
    n.segment = resolve_(c.segment);
    n.within_seconds = static_cast<std::int64_t>(c.within_days) * seconds_per_day;
    n.end = static_cast<std::uint16_t>(out.size() + 1);
    out.push_back(n);
  }

 private:
  const std::function<segment_id(std::string_view)>& resolve_;
};

// The same search as pricing::find_segment: users hold a handful of segments, so a linear scan
// of the sorted list beats a binary search.
inline bool seen(const node& n, std::span<const segment_membership> segments,
                 unix_seconds now) noexcept {
  for (const segment_membership& m : segments) {
    if (m.segment == n.segment)
      return n.within_seconds == 0 || now - m.last_seen <= n.within_seconds;
    if (m.segment > n.segment) break;
  }
  return false;
}

// Depth is bounded by compile(): at most 2 * max_depth + 1 frames.
bool evaluate(const node* nodes, std::size_t at, std::span<const segment_membership> segments,
              unix_seconds now) noexcept {
  const node& n = nodes[at];
  if (n.kind == node::op::segment) return seen(n, segments, now);
  for (std::size_t child = at + 1; child < n.end; child = nodes[child].end) {
    const bool value = evaluate(nodes, child, segments, now);
    switch (n.kind) {
      case node::op::all:
        if (!value) return false;
        break;
      case node::op::any:
        if (value) return true;
        break;
      case node::op::none:
        if (value) return false;
        break;
      case node::op::segment:
        break;
    }
  }
  return n.kind != node::op::any;
}

}  // namespace

result<program> compile(const group& g,
                        const std::function<segment_id(std::string_view)>& resolve) {
  if (auto r = check(g); !r) return r.error();
  program p;
  if (g.empty()) return p;
  compiler(resolve).emit_group(g, p.nodes_);
  return p;
}

bool matches(const program& p, std::span<const segment_membership> segments,
             unix_seconds now) noexcept {
  if (p.empty()) return true;
  return evaluate(p.nodes().data(), 0, segments, now);
}

bool program::matches_no_segments() const noexcept { return matches(*this, {}, 0); }

}  // namespace bidder::expression
