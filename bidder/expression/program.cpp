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

// Depth is bounded by compile(): at most 2 * max_depth + 1 frames. Leaves are checked in the
// loop, without a call.
bool evaluate(const node* nodes, std::size_t at, std::span<const segment_membership> segments,
              unix_seconds now) noexcept {
  const node& n = nodes[at];
  if (n.kind == node::op::segment) return detail::seen(n.segment, n.within_seconds, segments, now);
  for (std::size_t child = at + 1; child < n.end; child = nodes[child].end) {
    const node& c = nodes[child];
    const bool value = c.kind == node::op::segment
                           ? detail::seen(c.segment, c.within_seconds, segments, now)
                           : evaluate(nodes, child, segments, now);
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

// Fills the flat lists when the nodes are one group of segments: all(segments..., any(segments),
// none(segments)...), or one of its parts alone. Two any() groups are not one list: not flat.
bool flatten(std::span<const node> nodes, std::vector<flat_condition>& all_of,
             std::vector<flat_condition>& any_of, std::vector<flat_condition>& none_of) {
  auto leaf = [](const node& n) { return flat_condition{n.segment, n.within_seconds}; };
  // The children of a group node, when they are all segments.
  auto segments_under = [&](std::size_t at, std::vector<flat_condition>& out) {
    for (std::size_t c = at + 1; c < nodes[at].end; ++c) {
      if (nodes[c].kind != node::op::segment) return false;
      out.push_back(leaf(nodes[c]));
    }
    return true;
  };
  auto part = [&](std::size_t at) {
    switch (nodes[at].kind) {
      case node::op::segment:
        all_of.push_back(leaf(nodes[at]));
        return true;
      case node::op::all:
        return segments_under(at, all_of);
      case node::op::any:
        return any_of.empty() && segments_under(at, any_of);
      case node::op::none:
        return segments_under(at, none_of);
    }
    return false;
  };
  if (nodes.empty()) return false;
  if (nodes[0].kind != node::op::all) return part(0);
  for (std::size_t child = 1; child < nodes[0].end; child = nodes[child].end) {
    if (!part(child)) return false;
  }
  return true;
}

}  // namespace

result<program> compile(const group& g,
                        const std::function<segment_id(std::string_view)>& resolve) {
  if (auto r = check(g); !r) return r.error();
  program p;
  if (g.empty()) return p;
  compiler(resolve).emit_group(g, p.nodes_);
  p.flat_ = flatten(p.nodes_, p.all_of_, p.any_of_, p.none_of_);
  if (!p.flat_) {
    p.all_of_.clear();
    p.any_of_.clear();
    p.none_of_.clear();
  }
  return p;
}

namespace detail {
bool matches_nodes(const node* nodes, std::span<const segment_membership> segments,
                   unix_seconds now) noexcept {
  return evaluate(nodes, 0, segments, now);
}
}  // namespace detail

bool program::matches_no_segments() const noexcept { return matches(*this, {}, 0); }

}  // namespace bidder::expression
