// File: bidder/expression/text.hpp
//
// The compact text syntax of an audience expression, for `bidder audience estimate` and
// GET/POST /admin/audience/estimate (docs/audience.md, "Estimating reach"):
//
//   expression := item
//   item       := "all(" items ")"  every item holds
//               | "any(" items ")"  at least one item holds
//               | "not(" items ")"  no item holds
//               | SEGMENT ["@" DAYS]  in the segment (seen within DAYS days, when given)
//   items      := item ("," item)*
//
// e.g. `all(car-intender@10, any(affluent-zip, 3p:acme:123), not(recent-buyer))`. Spaces are
// allowed between tokens. SEGMENT is 1 to 128 of A-Z a-z 0-9 - _ . ~ : ; a segment literally
// named "all", "any" or "not" is written without parentheses. The limits of expression.hpp
// apply (depth, conditions, recency), and the text is at most max_text_bytes.
//
//   auto g = expression::parse_text("all(a@7, not(b))");
//   if (!g) std::cerr << g.error().message;  // "at 9: expected ',' or ')'"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"
#include "bidder/expression/expression.hpp"

namespace bidder::expression {

/// Longest expression text: 64 conditions of 60-byte names fit with room to spare.
inline constexpr std::size_t max_text_bytes = 8192;

/// Parses `text` strictly. Errors: invalid_field, with the 1-based byte column and what was
/// expected or wrong ("at 14: expected ',' or ')' after a condition").
[[nodiscard]] result<group> parse_text(std::string_view text);

/// The expression in the text syntax: parse_text reads it back as an expression with the same
/// meaning (a group mixing lists prints as all(..., any(...), not(...))). The empty group
/// prints as "all()", which parse_text refuses.
std::string to_text(const group& g);

}  // namespace bidder::expression
