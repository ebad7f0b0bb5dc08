#include "bidder/audience/file_format.hpp"

#include <charconv>
#include <chrono>

#include "bidder/audience/user_key.hpp"

namespace bidder::audience {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Strict UTF-8 check (no overlongs, no surrogates), so a Latin-1 or UTF-16 file is refused
// instead of being stored as garbage ids.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t continuation = 0;
    std::uint32_t cp = 0;
    if ((lead & 0xE0) == 0xC0) {
      continuation = 1;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      continuation = 2;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      continuation = 3;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= continuation) return false;  // truncated sequence
    for (std::size_t k = 1; k <= continuation; ++k) {
      const auto byte = static_cast<unsigned char>(s[i + k]);
      if ((byte & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (byte & 0x3F);
    }
    static constexpr std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < smallest[continuation] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += continuation + 1;
  }
  return true;
}

bool parse_digits(std::string_view s, int& out) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;  // no sign
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

result<std::string> id_to_key(std::string_view id) {
  std::string key;
  if (auto r = id_to_key(id, key); !r) return r.error();
  return key;
}

result<void> id_to_key(std::string_view id, std::string& key) {
  id = trim(id);
  struct prefix_rule {
    std::string_view prefix;
    std::string_view key_prefix;
  };
  static constexpr prefix_rule rules[] = {
      {"user:", "user:"},           {"buyeruid:", "buyeruid:"},    {"ifa:", "ifa:"},
      {"uid2:", "eid:uidapi.com:"}, {"id5:", "eid:id5-sync.com:"}, {"eid:", "eid:"},
  };
  std::string_view key_prefix = "user:";
  for (const prefix_rule& rule : rules) {
    if (id.starts_with(rule.prefix)) {
      id.remove_prefix(rule.prefix.size());
      key_prefix = rule.key_prefix;
      break;
    }
  }
  if (key_prefix == "eid:") {
    const std::size_t colon = id.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == id.size()) {
      return make_error(errc::invalid_field, "eid ids are written eid:<source>:<id>");
    }
  }
  if (id.empty()) return make_error(errc::invalid_field, "empty id");
  if (id.size() > max_user_id_bytes) {
    return make_error(errc::invalid_field,
                      "id longer than " + std::to_string(max_user_id_bytes) + " bytes");
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F || c == ' ') {
      return make_error(errc::invalid_field, "space or control character in id");
    }
  }
  if (!valid_utf8(id)) return make_error(errc::invalid_field, "id is not valid UTF-8");
  key.assign(key_prefix);
  key += id;
  return {};
}

result<unix_seconds> parse_time(std::string_view text) {
  text = unquote(text);
  if (text.empty()) return make_error(errc::invalid_field, "empty time");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    unix_seconds seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return make_error(errc::invalid_field, "time out of range");
    }
    if (seconds > 100'000'000'000) {
      return make_error(errc::invalid_field, "time looks like milliseconds; give UNIX seconds");
    }
    return seconds;
  }
  // YYYY-MM-DD[THH:MM:SS[.fff](Z|+HH:MM|-HH:MM)]
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offset = 0;
  auto bad = [&] {
    return make_error(errc::invalid_field,
                      "time \"" + std::string(text) + "\" is neither UNIX seconds nor ISO-8601");
  };
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' ||
      !parse_digits(text.substr(0, 4), year) || !parse_digits(text.substr(5, 2), month) ||
      !parse_digits(text.substr(8, 2), day)) {
    return bad();
  }
  std::string_view rest = text.substr(10);
  if (!rest.empty()) {
    if ((rest[0] != 'T' && rest[0] != ' ') || rest.size() < 9 || rest[3] != ':' || rest[6] != ':' ||
        !parse_digits(rest.substr(1, 2), hour) || !parse_digits(rest.substr(4, 2), minute) ||
        !parse_digits(rest.substr(7, 2), second)) {
      return bad();
    }
    rest.remove_prefix(9);
    if (!rest.empty() && rest[0] == '.') {
      std::size_t digits = 1;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      rest.remove_prefix(digits);
    }
    if (rest == "Z" || rest.empty()) {
      offset = 0;
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
      int oh = 0, om = 0;
      if (!parse_digits(rest.substr(1, 2), oh) || !parse_digits(rest.substr(4, 2), om))
        return bad();
      offset = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
    } else {
      return bad();
    }
  }
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year),
                            std::chrono::month(static_cast<unsigned>(month)),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return bad();
  const auto days_since_epoch = sys_days(date).time_since_epoch().count();
  return static_cast<unix_seconds>(days_since_epoch) * 86400 + hour * 3600 + minute * 60 + second -
         offset;
}

void line_parser::feed(std::string_view chunk, const member_fn& on_member,
                       const error_fn& on_error) {
  while (!chunk.empty()) {
    const std::size_t newline = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, newline);
    if (!overlong_) {
      if (pending_.size() + piece.size() > max_audience_line_bytes) {
        overlong_ = true;
        pending_.clear();
      } else {
        pending_.append(piece);
      }
    }
    if (newline == std::string_view::npos) return;
    chunk.remove_prefix(newline + 1);
    ++line_;
    if (overlong_) {
      on_error({line_, "line longer than " + std::to_string(max_audience_line_bytes) + " bytes"});
      overlong_ = false;
    } else {
      parse_line(pending_, on_member, on_error);
    }
    pending_.clear();
  }
}

void line_parser::finish(const member_fn& on_member, const error_fn& on_error) {
  if (pending_.empty() && !overlong_) return;
  ++line_;
  if (overlong_) {
    on_error({line_, "line longer than " + std::to_string(max_audience_line_bytes) + " bytes"});
  } else {
    parse_line(pending_, on_member, on_error);
  }
  pending_.clear();
  overlong_ = false;
}

void line_parser::parse_line(std::string_view line, const member_fn& on_member,
                             const error_fn& on_error) {
  if (line_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // UTF-8 BOM
  if (line_ == 1 && (line.starts_with("\xFF\xFE") || line.starts_with("\xFE\xFF"))) {
    on_error({line_, "the file is UTF-16; save it as UTF-8"});
    return;
  }
  // Blanks (spaces, TABs, CR) around a line are ignored, except that "<TAB>TIME" is an id
  // missing before its time, not an id that happens to look like a time.
  while (!line.empty() && (line.front() == ' ' || line.front() == '\r')) line.remove_prefix(1);
  if (!csv_ && !line.empty() && line.front() == '\t' && parse_time(trim(line))) {
    on_error({line_, "empty id"});
    return;
  }
  line = trim(line);
  if (line.empty() || line.front() == '#') return;

  if (first_data_) {
    first_data_ = false;
    // A CSV header: its first column names the id column.
    const std::string_view first = unquote(line.substr(0, line.find(',')));
    if (line.find(',') != std::string_view::npos &&
        (first == "id" || first == "user_id" || first == "ID" || first == "user")) {
      csv_ = true;
      return;
    }
  }
  std::string_view id = line, seen;
  const char separator = csv_ ? ',' : '\t';
  if (const std::size_t at = line.find(separator); at != std::string_view::npos) {
    id = line.substr(0, at);
    seen = line.substr(at + 1);
    if (seen.find(separator) != std::string_view::npos) {
      on_error({line_, "more than two fields (expected ID or ID<separator>LAST_SEEN)"});
      return;
    }
  }
  id = csv_ ? unquote(id) : trim(id);
  if (auto key = id_to_key(id, scratch_.key); !key) {
    on_error({line_, key.error().message});
    return;
  }
  unix_seconds last_seen = now_;
  if (!trim(seen).empty()) {
    auto t = parse_time(seen);
    if (!t) {
      on_error({line_, t.error().message});
      return;
    }
    if (*t > now_ + 86400) {
      on_error({line_, "last seen more than a day in the future"});
      return;
    }
    last_seen = *t;
  }
  scratch_.last_seen = last_seen;
  on_member(scratch_);
}

}  // namespace bidder::audience
