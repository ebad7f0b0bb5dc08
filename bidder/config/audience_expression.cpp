#include "bidder/config/audience_expression.hpp"

namespace bidder::config {
namespace {

constexpr std::string_view root = "targeting.audience";

// Recursion stops one level past the limit (the config's JSON nests at most 64 deep anyway).
result<expression::group> convert(const v1::AudienceExpression& in, const std::string& path,
                                  int depth) {
  if (depth > expression::max_depth) {
    return make_error(errc::invalid_config, path + ": nested deeper than " +
                                                std::to_string(expression::max_depth) + " levels");
  }
  expression::group out;
  auto convert_list = [&](const auto& list, std::string_view name,
                          std::vector<expression::condition>& to) -> result<void> {
    for (int i = 0; i < list.size(); ++i) {
      const v1::SegmentCondition& c = list[i];
      const std::string where = path + "." + std::string(name) + "[" + std::to_string(i) + "]";
      expression::condition condition;
      condition.segment = c.segment();
      condition.within_days = c.within_days();
      if (c.has_expression()) {
        if (!c.segment().empty()) {
          return make_error(errc::invalid_config,
                            where + ": give either segment or expression, not both");
        }
        auto nested = convert(c.expression(), where + ".expression", depth + 1);
        if (!nested) return nested.error();
        condition.nested = std::make_unique<expression::group>(std::move(*nested));
      }
      to.push_back(std::move(condition));
    }
    return {};
  };
  if (auto r = convert_list(in.all_of(), "all_of", out.all_of); !r) return r.error();
  if (auto r = convert_list(in.any_of(), "any_of", out.any_of); !r) return r.error();
  if (auto r = convert_list(in.none_of(), "none_of", out.none_of); !r) return r.error();
  return out;
}

}  // namespace

result<expression::group> audience_expression(const v1::AudienceExpression& audience) {
  auto tree = convert(audience, std::string(root), 1);
  if (!tree) return tree.error();
  if (auto r = expression::check(*tree); !r) {
    // check() names paths from the group itself ("all_of[0].segment", or "expression" for the
    // whole): put them under targeting.audience.
    std::string message = r.error().message;
    if (message.starts_with("expression:")) {
      message = std::string(root) + message.substr(std::string_view("expression").size());
    } else {
      message = std::string(root) + "." + message;
    }
    return make_error(errc::invalid_config, std::move(message));
  }
  return tree;
}

}  // namespace bidder::config
