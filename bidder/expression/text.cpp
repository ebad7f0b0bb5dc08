#include "bidder/expression/text.hpp"

#include <charconv>

namespace bidder::expression {
namespace {

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~' || c == ':';
}

class parser {
 public:
  explicit parser(std::string_view text) : text_(text) {}

  result<group> parse() {
    skip_spaces();
    if (at_end()) return fail("empty expression: give a segment, all(...), any(...) or not(...)");
    group top;
    auto item = parse_item(top_level, 1);
    if (!item) return item.error();
    skip_spaces();
    if (!at_end()) return fail("unexpected '" + std::string(1, text_[pos_]) + "' after the end");
    if (item->nested) {
      top = std::move(*item->nested);
    } else {
      top.all_of.push_back(std::move(*item));
    }
    if (auto r = check(top); !r) return make_error(errc::invalid_field, r.error().message);
    return top;
  }

 private:
  // Which list of the enclosing group an item goes into.
  enum list_kind { top_level, all_list, any_list, none_list };

  // `depth` is the depth a group parsed here would have; recursion stops past max_depth.
  result<condition> parse_item(list_kind, int depth) {
    skip_spaces();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    skip_spaces();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      list_kind kind;
      if (word == "all") {
        kind = all_list;
      } else if (word == "any") {
        kind = any_list;
      } else if (word == "not") {
        kind = none_list;
      } else {
        return fail_at(start, "unknown group \"" + std::string(word) +
                                  "\": use all(...), any(...) or not(...)");
      }
      if (depth > max_depth) {
        return fail_at(start, "nested deeper than " + std::to_string(max_depth) + " levels");
      }
      ++pos_;
      auto g = std::make_unique<group>();
      std::vector<condition>& list = kind == all_list   ? g->all_of
                                     : kind == any_list ? g->any_of
                                                        : g->none_of;
      skip_spaces();
      if (pos_ < text_.size() && text_[pos_] == ')') {
        return fail_at(pos_, "empty " + std::string(word) + "(): it needs at least one item");
      }
      while (true) {
        auto item = parse_item(kind, depth + 1);
        if (!item) return item.error();
        list.push_back(std::move(*item));
        if (list.size() > max_conditions) {
          return fail("more than " + std::to_string(max_conditions) + " conditions");
        }
        skip_spaces();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == ')') {
          ++pos_;
          break;
        }
        return fail("expected ',' or ')'");
      }
      condition c;
      c.nested = std::move(g);
      return c;
    }
    if (word.empty()) {
      if (at_end()) return fail("expected a segment or a group, found the end");
      return fail("expected a segment or a group, found '" + std::string(1, text_[pos_]) + "'");
    }
    condition c;
    c.segment = std::string(word);
    if (!is_segment_name(c.segment)) {
      return fail_at(
          start, "segment name longer than " + std::to_string(max_segment_name_bytes) + " bytes");
    }
    if (pos_ < text_.size() && text_[pos_] == '@') {
      ++pos_;
      skip_spaces();
      const std::size_t digits = pos_;
      std::uint32_t days = 0;
      const char* begin = text_.data() + pos_;
      const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), days);
      if (ec != std::errc() || end == begin) {
        return fail_at(digits, "expected a number of days after '@'");
      }
      pos_ += static_cast<std::size_t>(end - begin);
      if (days == 0 || days > max_within_days) {
        return fail_at(digits, "days after '@': 1 to " + std::to_string(max_within_days));
      }
      c.within_days = days;
    }
    return c;
  }

  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  error fail(std::string_view what) const { return fail_at(pos_, what); }
  error fail_at(std::size_t at, std::string_view what) const {
    return make_error(errc::invalid_field,
                      "at " + std::to_string(at + 1) + ": " + std::string(what));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

void append_list(std::string& out, const std::vector<condition>& list, bool& first);

void append_condition(std::string& out, const condition& c) {
  if (c.nested) {
    out += to_text(*c.nested);
    return;
  }
  out += c.segment;
  if (c.within_days > 0) out += "@" + std::to_string(c.within_days);
}

void append_list(std::string& out, const std::vector<condition>& list, bool& first) {
  for (const condition& c : list) {
    if (!first) out += ", ";
    first = false;
    append_condition(out, c);
  }
}

}  // namespace

result<group> parse_text(std::string_view text) {
  if (text.size() > max_text_bytes) {
    return make_error(errc::invalid_field,
                      "expression longer than " + std::to_string(max_text_bytes) + " bytes");
  }
  return parser(text).parse();
}

std::string to_text(const group& g) {
  // One list alone prints as its own group; mixed lists as all(x, any(...), not(...)).
  const int lists = !g.all_of.empty() + !g.any_of.empty() + !g.none_of.empty();
  std::string out;
  bool first = true;
  if (lists == 1 && !g.any_of.empty()) {
    out = "any(";
    append_list(out, g.any_of, first);
    return out + ")";
  }
  if (lists == 1 && !g.none_of.empty()) {
    out = "not(";
    append_list(out, g.none_of, first);
    return out + ")";
  }
  out = "all(";
  append_list(out, g.all_of, first);
  for (auto [list, name] : {std::pair{&g.any_of, "any("}, {&g.none_of, "not("}}) {
    if (list->empty()) continue;
    if (!first) out += ", ";
    first = false;
    bool inner_first = true;
    out += name;
    append_list(out, *list, inner_first);
    out += ")";
  }
  return out + ")";
}

}  // namespace bidder::expression
