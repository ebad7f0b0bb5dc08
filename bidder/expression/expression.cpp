#include "bidder/expression/expression.hpp"

namespace bidder::expression {
namespace {

result<void> fail(const std::string& where, std::string_view what) {
  return make_error(errc::invalid_config, where + ": " + std::string(what));
}

// Recursion is bounded: it stops one level past max_depth.
result<void> check_group(const group& g, const std::string& path, int depth) {
  if (depth > max_depth) {
    return fail(path.empty() ? "expression" : path,
                "nested deeper than " + std::to_string(max_depth) + " levels");
  }
  auto check_list = [&](const std::vector<condition>& list, std::string_view name) -> result<void> {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const condition& c = list[i];
      const std::string where =
          path + (path.empty() ? "" : ".") + std::string(name) + "[" + std::to_string(i) + "]";
      if (c.nested) {
        if (!c.segment.empty()) {
          return fail(where, "give either segment or expression, not both");
        }
        if (c.within_days != 0) {
          return fail(where + ".within_days",
                      "applies to a segment; put it on the segments inside the expression");
        }
        if (c.nested->empty()) return fail(where + ".expression", "an empty group matches no one");
        if (auto r = check_group(*c.nested, where + ".expression", depth + 1); !r) return r;
        continue;
      }
      if (c.segment.empty()) return fail(where + ".segment", "missing");
      if (!is_segment_name(c.segment)) {
        return fail(where + ".segment", "\"" + c.segment +
                                            "\" is not a segment name (1 to 128 of A-Z a-z 0-9 "
                                            "- _ . ~ :)");
      }
      if (c.within_days > max_within_days) {
        return fail(where + ".within_days", "at most " + std::to_string(max_within_days));
      }
    }
    return {};
  };
  if (auto r = check_list(g.all_of, "all_of"); !r) return r;
  if (auto r = check_list(g.any_of, "any_of"); !r) return r;
  return check_list(g.none_of, "none_of");
}

}  // namespace

bool is_segment_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_segment_name_bytes) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::size_t condition_count(const group& g) noexcept {
  std::size_t n = 0;
  for (const auto* list : {&g.all_of, &g.any_of, &g.none_of}) {
    for (const condition& c : *list) n += 1 + (c.nested ? condition_count(*c.nested) : 0);
  }
  return n;
}

result<void> check(const group& g) {
  if (auto r = check_group(g, "", 1); !r) return r;
  if (const std::size_t n = condition_count(g); n > max_conditions) {
    return fail("expression",
                std::to_string(n) + " conditions; at most " + std::to_string(max_conditions));
  }
  return {};
}

}  // namespace bidder::expression
