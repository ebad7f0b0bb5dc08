#include "bidder/audience/file_format.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/audience/store.hpp"

namespace {

using bidder::unix_seconds;
using bidder::audience::id_to_key;
using bidder::audience::line_error;
using bidder::audience::line_parser;
using bidder::audience::max_audience_line_bytes;
using bidder::audience::member;
using bidder::audience::parse_time;

constexpr unix_seconds now = 1'795'305'600;            // 2026-11-22T00:00:00Z
constexpr unix_seconds nov20 = 1'795'132'800;          // 2026-11-20T00:00:00Z
constexpr unix_seconds nov20_10h = nov20 + 10 * 3600;  // 2026-11-20T10:00:00Z
constexpr unix_seconds day = 86400;

/// What a parser made of a whole file: its members, its errors as "line N: reason", its lines.
struct parsed {
  std::vector<member> members;
  std::vector<std::string> errors;
  std::vector<std::size_t> error_lines;
  std::size_t lines = 0;
};

/// Feeds `file` in chunks of `chunk` bytes (0: in one piece), then finish().
parsed parse(std::string_view file, std::size_t chunk = 0) {
  parsed out;
  line_parser parser(now);
  auto on_member = [&](const member& m) { out.members.push_back(m); };
  auto on_error = [&](line_error&& e) {
    out.error_lines.push_back(e.line);
    out.errors.push_back("line " + std::to_string(e.line) + ": " + e.reason);
  };
  if (chunk == 0) chunk = file.size() + 1;
  for (std::size_t at = 0; at < file.size(); at += chunk) {
    parser.feed(file.substr(at, chunk), on_member, on_error);
  }
  parser.finish(on_member, on_error);
  out.lines = parser.lines();
  return out;
}

/// Parses a file of one line and requires exactly one error; returns its reason.
std::string only_error(std::string_view file) {
  const parsed p = parse(file);
  INFO("file: " << file);
  CHECK(p.members.empty());
  REQUIRE(p.errors.size() == 1);
  CHECK(p.error_lines[0] == 1);
  return p.errors[0];
}

std::string key_of(std::string_view id) {
  auto key = id_to_key(id);
  INFO("id: " << id);
  INFO((key ? std::string() : key.error().message));
  REQUIRE(key);
  return *key;
}

std::string key_error(std::string_view id) {
  auto key = id_to_key(id);
  INFO("id: " << id);
  REQUIRE_FALSE(key);
  CHECK(key.error().code == bidder::errc::invalid_field);
  return key.error().message;
}

unix_seconds time_of(std::string_view text) {
  auto t = parse_time(text);
  INFO("time: " << text);
  INFO((t ? std::string() : t.error().message));
  REQUIRE(t);
  return *t;
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<member> {
  static std::string convert(const member& m) {
    return "{" + m.key + ", " + std::to_string(m.last_seen) + "}";
  }
};
}  // namespace Catch

TEST_CASE("id_to_key maps each id prefix to its store key", "[audience][unit]") {
  CHECK(key_of("3f2a9c") == "user:3f2a9c");
  CHECK(key_of("user:3f2a9c") == "user:3f2a9c");
  CHECK(key_of("buyeruid:abc") == "buyeruid:abc");
  CHECK(key_of("ifa:6d92078a-8246-4ba4-ae5b-76104861e7dc") ==
        "ifa:6d92078a-8246-4ba4-ae5b-76104861e7dc");
  CHECK(key_of("uid2:AbC+/=") == "eid:uidapi.com:AbC+/=");
  CHECK(key_of("id5:ID5*xyz") == "eid:id5-sync.com:ID5*xyz");
  CHECK(key_of("eid:liveramp.com:XY1") == "eid:liveramp.com:XY1");
  CHECK(key_of("eid:src:with:colons") == "eid:src:with:colons");
  CHECK(key_of("  padded\t") == "user:padded");
  CHECK(key_of("caf\xC3\xA9-\xF0\x9F\x9A\x97") == "user:caf\xC3\xA9-\xF0\x9F\x9A\x97");  // UTF-8
  CHECK(key_of("unknown-prefix:x") == "user:unknown-prefix:x");  // not a namespace: an id
  CHECK(key_of(std::string(512, 'x')) == "user:" + std::string(512, 'x'));
  CHECK(key_of("ifa:" + std::string(512, 'x')) == "ifa:" + std::string(512, 'x'));
}

TEST_CASE("id_to_key names what is wrong with a bad id", "[audience][unit]") {
  CHECK_THAT(key_error(""), Catch::Contains("empty id"));
  CHECK_THAT(key_error("   "), Catch::Contains("empty id"));
  CHECK_THAT(key_error("user:"), Catch::Contains("empty id"));
  CHECK_THAT(key_error("ifa:"), Catch::Contains("empty id"));
  CHECK_THAT(key_error("uid2:"), Catch::Contains("empty id"));
  CHECK_THAT(key_error("with space"), Catch::Contains("space or control character"));
  CHECK_THAT(key_error(std::string("nul\0byte", 8)), Catch::Contains("control character"));
  CHECK_THAT(key_error("bell\x07"), Catch::Contains("control character"));
  CHECK_THAT(key_error("del\x7F"), Catch::Contains("control character"));
  CHECK_THAT(key_error("cr\rinside"), Catch::Contains("control character"));
  CHECK_THAT(key_error("caf\xE9"), Catch::Contains("UTF-8"));                // Latin-1
  CHECK_THAT(key_error("over\xC0\xAFlong"), Catch::Contains("UTF-8"));       // overlong '/'
  CHECK_THAT(key_error("sur\xED\xA0\x80rogate"), Catch::Contains("UTF-8"));  // U+D800
  CHECK_THAT(key_error("cut\xE2\x82"), Catch::Contains("UTF-8"));            // truncated
  CHECK_THAT(key_error("\x80lead"), Catch::Contains("UTF-8"));               // lone continuation
  CHECK_THAT(key_error(std::string(513, 'x')), Catch::Contains("longer than 512"));
  CHECK_THAT(key_error("ifa:" + std::string(513, 'x')), Catch::Contains("longer than 512"));
  CHECK_THAT(key_error("eid:"), Catch::Contains("eid:<source>:<id>"));
  CHECK_THAT(key_error("eid:no-source"), Catch::Contains("eid:<source>:<id>"));
  CHECK_THAT(key_error("eid::id"), Catch::Contains("eid:<source>:<id>"));
  CHECK_THAT(key_error("eid:src:"), Catch::Contains("eid:<source>:<id>"));
}

TEST_CASE("parse_time reads UNIX seconds and every ISO-8601 form", "[audience][unit]") {
  CHECK(time_of("1795305600") == now);
  CHECK(time_of("0") == 0);
  CHECK(time_of(" 1795305600 ") == now);
  CHECK(time_of("\"1795305600\"") == now);  // a quoted CSV field
  CHECK(time_of("2026-11-20") == nov20);
  CHECK(time_of("2026-11-20T10:00:00Z") == nov20_10h);
  CHECK(time_of("2026-11-20 10:00:00Z") == nov20_10h);
  CHECK(time_of("2026-11-20T10:00:00") == nov20_10h);  // no zone: UTC
  CHECK(time_of("2026-11-20T10:00:00+02:00") == nov20_10h - 2 * 3600);
  CHECK(time_of("2026-11-20T10:00:00-05:30") == nov20_10h + 5 * 3600 + 1800);
  CHECK(time_of("2026-11-20T10:00:00.5Z") == nov20_10h);  // fractions are dropped
  CHECK(time_of("2026-11-20T10:00:00.123456+02:00") == nov20_10h - 2 * 3600);
  CHECK(time_of("1970-01-01T00:00:00Z") == 0);
  CHECK(time_of("2024-02-29") == 1'709'164'800);  // a leap day
  CHECK(time_of("100000000000") == 100'000'000'000);
}

TEST_CASE("parse_time refuses what is neither UNIX seconds nor ISO-8601", "[audience][unit]") {
  const std::string text =
      GENERATE(as<std::string>{}, "", "yesterday", "2026-11", "2026/11/20", "2026-13-01",
               "2026-02-30", "2025-02-29", "2026-11-20T", "2026-11-20T25:00:00Z",
               "2026-11-20T10:61:00Z", "2026-11-20T10:00Z", "2026-11-20T10:00:00+0200",
               "2026-11-20T10:00:00 UTC", "20261120x", "-5", "1.5e9", "99999999999999999999999");
  CAPTURE(text);
  auto t = parse_time(text);
  REQUIRE_FALSE(t);
  CHECK(t.error().code == bidder::errc::invalid_field);
  CHECK_FALSE(t.error().message.empty());
}

TEST_CASE("parse_time refuses milliseconds with a hint", "[audience][unit]") {
  auto t = parse_time("1795305600000");
  REQUIRE_FALSE(t);
  CHECK_THAT(t.error().message, Catch::Contains("milliseconds"));
}

TEST_CASE("parse_time refuses a negative hour, minute or second", "[audience][unit]") {
  // from_chars accepts a '-' sign, and only the upper bounds are checked: "T-1:00:00Z" is
  // read as 23:00 the day before.
  const std::string text = GENERATE(as<std::string>{}, "2026-11-20T-1:00:00Z",
                                    "2026-11-20T10:-1:00Z", "2026-11-20T10:00:-1Z");
  CAPTURE(text);
  auto t = parse_time(text);
  CHECK_FALSE(t);
}

TEST_CASE("every line form becomes its member with its last-seen time", "[audience][unit]") {
  const std::string file =
      "plain-id\n"
      "user:exchange-id\n"
      "buyeruid:ours\n"
      "ifa:6d92078a-8246-4ba4-ae5b-76104861e7dc\n"
      "uid2:AbCdEf\n"
      "id5:ID5xyz\n"
      "eid:liveramp.com:XY1\n"
      "seconds\t1795132800\n"
      "date\t2026-11-20\n"
      "datetime\t2026-11-20T10:00:00Z\n"
      "offset\t2026-11-20T10:00:00+02:00\n"
      "fraction\t2026-11-20T10:00:00.250Z\n"
      "ifa:with-time\t2026-11-20T10:00:00-01:00\n"
      "future-but-within-a-day\t1795392000\n";
  const parsed p = parse(file);
  CHECK(p.errors.empty());
  CHECK(p.lines == 14);
  CHECK(p.members == std::vector<member>{
                         {"user:plain-id", now},
                         {"user:exchange-id", now},
                         {"buyeruid:ours", now},
                         {"ifa:6d92078a-8246-4ba4-ae5b-76104861e7dc", now},
                         {"eid:uidapi.com:AbCdEf", now},
                         {"eid:id5-sync.com:ID5xyz", now},
                         {"eid:liveramp.com:XY1", now},
                         {"user:seconds", nov20},
                         {"user:date", nov20},
                         {"user:datetime", nov20_10h},
                         {"user:offset", nov20_10h - 2 * 3600},
                         {"user:fraction", nov20_10h},
                         {"ifa:with-time", nov20_10h + 3600},
                         {"user:future-but-within-a-day", now + day},
                     });
}

TEST_CASE("a CSV file with a header reads the id and last_seen columns", "[audience][unit]") {
  SECTION("plain fields") {
    const parsed p = parse("id,last_seen\nalice,2026-11-20\nifa:bob,1795132800\ncarol,\ndave\n");
    CHECK(p.errors.empty());
    CHECK(p.members ==
          std::vector<member>{
              {"user:alice", nov20}, {"ifa:bob", nov20}, {"user:carol", now}, {"user:dave", now}});
  }
  SECTION("quoted fields and a quoted header") {
    const parsed p = parse(
        "\"id\",\"last_seen\"\n\"uid2:Ab/Cd\",\"2026-11-20T10:00:00Z\"\n \"alice\" , "
        "\"1795132800\" \n");
    CHECK(p.errors.empty());
    CHECK(p.members ==
          std::vector<member>{{"eid:uidapi.com:Ab/Cd", nov20_10h}, {"user:alice", nov20}});
  }
  SECTION("the other header names, after comments, with a BOM and CRLF") {
    const std::string header =
        GENERATE(as<std::string>{}, "user_id,last_seen", "ID,LAST_SEEN", "user,seen", "id,");
    CAPTURE(header);
    const parsed p =
        parse("\xEF\xBB\xBF# exported 2026-11-22\r\n\r\n" + header + "\r\nalice,2026-11-20\r\n");
    CHECK(p.errors.empty());
    CHECK(p.members == std::vector<member>{{"user:alice", nov20}});
  }
  SECTION("a comma in a file without a header is part of the id") {
    const parsed p = parse("alice,2026-11-20\n");
    CHECK(p.errors.empty());
    CHECK(p.members == std::vector<member>{{"user:alice,2026-11-20", now}});
  }
  SECTION("a TAB is part of the id field in a CSV file, so the id is refused") {
    const parsed p = parse("id,last_seen\nalice\tx,2026-11-20\n");
    CHECK(p.members.empty());
    CHECK(p.error_lines == std::vector<std::size_t>{2});
  }
  SECTION("bad CSV rows with their line numbers") {
    const parsed p = parse(
        "id,last_seen\n"
        "ok-1,2026-11-20\n"
        ",2026-11-20\n"          // 3: empty id
        "too,2026-11-20,many\n"  // 4: three fields
        "bad-time,soon\n"        // 5
        "\"\",1795132800\n"      // 6: quoted empty id
        "ok-2\n");
    CHECK(p.members == std::vector<member>{{"user:ok-1", nov20}, {"user:ok-2", now}});
    REQUIRE(p.error_lines == std::vector<std::size_t>{3, 4, 5, 6});
    CHECK_THAT(p.errors[0], Catch::Contains("empty id"));
    CHECK_THAT(p.errors[1], Catch::Contains("more than two fields"));
    CHECK_THAT(p.errors[2], Catch::Contains("soon"));
    CHECK_THAT(p.errors[3], Catch::Contains("empty id"));
  }
}

TEST_CASE("CRLF, a UTF-8 BOM, blank lines, comments and surrounding spaces are ignored",
          "[audience][unit]") {
  const std::string file =
      "\xEF\xBB\xBF"
      "first\r\n"
      "\r\n"
      "# a comment\r\n"
      "   # an indented comment\n"
      "  \t  \n"
      "\n"
      "  spaced  \r\n"
      "\tifa:tabbed\t\r\n"
      " timed \t 2026-11-20 \r\n"
      "not#a-comment\n";
  const parsed p = parse(file);
  CHECK(p.errors.empty());
  CHECK(p.lines == 10);
  CHECK(p.members == std::vector<member>{{"user:first", now},
                                         {"user:spaced", now},
                                         {"ifa:tabbed", now},
                                         {"user:timed", nov20},
                                         {"user:not#a-comment", now}});

  SECTION("a file of nothing but a BOM, comments and blanks has no members and no errors") {
    const parsed empty = parse("\xEF\xBB\xBF\r\n# nothing\r\n\r\n");
    CHECK(empty.members.empty());
    CHECK(empty.errors.empty());
    CHECK(empty.lines == 3);
  }
}

TEST_CASE("each bad line is reported with its line number and the good lines around it parse",
          "[audience][unit]") {
  const std::string file =
      "good-1\n"            // 1
      "user:\n"             // 2 empty id
      "ifa:\t2026-11-20\n"  // 3 empty id
      "has space\n"         // 4
      "ctl\x01id\n"         // 5
      "caf\xE9\n"           // 6 Latin-1
      + std::string(5000, 'x') +
      "\n"        // 7 overlong line
      "good-2\n"  // 8
      + std::string(513, 'y') +
      "\n"                       // 9 id over 512
      "bad-time\t2026-13-01\n"   // 10
      "millis\t1795305600000\n"  // 11
      "future\t" +
      std::to_string(now + day + 1) +
      "\n"                           // 12
      "fields\t2026-11-20\textra\n"  // 13
      "eid:\n"                       // 14
      "eid:no-source\n"              // 15
      "good-3\t2026-11-20\n";        // 16
  const parsed p = parse(file);
  CHECK(p.lines == 16);
  CHECK(p.members ==
        std::vector<member>{{"user:good-1", now}, {"user:good-2", now}, {"user:good-3", nov20}});
  REQUIRE(p.error_lines == std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15});
  CHECK_THAT(p.errors[0], Catch::Contains("empty id"));
  CHECK_THAT(p.errors[1], Catch::Contains("empty id"));
  CHECK_THAT(p.errors[2], Catch::Contains("space or control character"));
  CHECK_THAT(p.errors[3], Catch::Contains("space or control character"));
  CHECK_THAT(p.errors[4], Catch::Contains("UTF-8"));
  CHECK_THAT(p.errors[5], Catch::Contains("longer than 4096"));
  CHECK_THAT(p.errors[6], Catch::Contains("longer than 512"));
  CHECK_THAT(p.errors[7], Catch::Contains("2026-13-01"));
  CHECK_THAT(p.errors[8], Catch::Contains("milliseconds"));
  CHECK_THAT(p.errors[9], Catch::Contains("future"));
  CHECK_THAT(p.errors[10], Catch::Contains("more than two fields"));
  CHECK_THAT(p.errors[11], Catch::Contains("eid:<source>:<id>"));
  CHECK_THAT(p.errors[12], Catch::Contains("eid:<source>:<id>"));
}

TEST_CASE("a line with a TAB and a time but no id is an empty id", "[audience][unit]") {
  // The line is trimmed of TABs before it is split at the TAB, so "\t1795132800" loses its
  // separator and the time is stored as the id "user:1795132800".
  const std::string line = GENERATE(as<std::string>{}, "\t1795132800\n", "  \t2026-11-20\n");
  CAPTURE(line);
  CHECK_THAT(only_error(line), Catch::Contains("empty id"));
}

TEST_CASE("the last-seen time may be at most a day after now", "[audience][unit]") {
  const parsed ok = parse("edge\t" + std::to_string(now + day) + "\n");
  CHECK(ok.errors.empty());
  CHECK(ok.members == std::vector<member>{{"user:edge", now + day}});
  CHECK_THAT(only_error("late\t" + std::to_string(now + day + 1) + "\n"),
             Catch::Contains("more than a day in the future"));
  CHECK_THAT(only_error("late\t2026-11-23T00:00:01Z\n"), Catch::Contains("future"));
  const parsed old = parse("old\t1970-01-01\n");
  CHECK(old.members == std::vector<member>{{"user:old", 0}});
}

TEST_CASE("a line over 4096 bytes is one bad line and the next line still parses",
          "[audience][unit]") {
  // 4096 bytes are accepted: spaces around a short id fill the line.
  const std::string longest = std::string(4000, ' ') + "fits" + std::string(92, ' ');
  REQUIRE(longest.size() == max_audience_line_bytes);
  const std::string too_long = longest + " ";
  const std::size_t chunk = GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{100},
                                     std::size_t{4096}, std::size_t{4097});
  CAPTURE(chunk);

  const parsed p = parse(longest + "\n" + too_long + "\nnext\n" + std::string(100000, 'z') +
                             "\nafter-a-huge-line\n" + std::string(9000, 'w'),
                         chunk);
  CHECK(p.lines == 6);
  CHECK(p.members == std::vector<member>{
                         {"user:fits", now}, {"user:next", now}, {"user:after-a-huge-line", now}});
  REQUIRE(p.error_lines == std::vector<std::size_t>{2, 4, 6});  // 6: the last, without newline
  for (const std::string& e : p.errors) CHECK_THAT(e, Catch::Contains("longer than 4096 bytes"));
}

TEST_CASE("a UTF-16 file is refused at line 1", "[audience][unit]") {
  SECTION("little endian") {
    const std::string file(
        "\xFF\xFE"
        "a\0b\0\n\0",
        8);
    const parsed p = parse(file);
    CHECK(p.members.empty());
    REQUIRE_FALSE(p.errors.empty());
    CHECK(p.error_lines[0] == 1);
    CHECK_THAT(p.errors[0], Catch::Contains("UTF-16"));
  }
  SECTION("big endian") {
    const std::string file("\xFE\xFF\0a\0b\0\n", 8);
    const parsed p = parse(file);
    CHECK(p.members.empty());
    REQUIRE_FALSE(p.errors.empty());
    CHECK(p.error_lines[0] == 1);
    CHECK_THAT(p.errors[0], Catch::Contains("UTF-16"));
  }
  SECTION("a UTF-16 BOM on a later line is only an invalid id") {
    const parsed p = parse("ok\n\xFF\xFEx\n");
    CHECK(p.members == std::vector<member>{{"user:ok", now}});
    REQUIRE(p.error_lines == std::vector<std::size_t>{2});
    CHECK_THAT(p.errors[0], Catch::Contains("UTF-8"));
  }
}

TEST_CASE("a last line without a newline is parsed by finish", "[audience][unit]") {
  SECTION("a good last line") {
    const parsed p = parse("first\nlast\t2026-11-20");
    CHECK(p.errors.empty());
    CHECK(p.lines == 2);
    CHECK(p.members == std::vector<member>{{"user:first", now}, {"user:last", nov20}});
  }
  SECTION("a bad last line") {
    const parsed p = parse("first\nlast\tnever");
    CHECK(p.members == std::vector<member>{{"user:first", now}});
    CHECK(p.error_lines == std::vector<std::size_t>{2});
  }
  SECTION("a last line with only CR") {
    const parsed p = parse("first\r\nlast\r");
    CHECK(p.errors.empty());
    CHECK(p.members == std::vector<member>{{"user:first", now}, {"user:last", now}});
  }
  SECTION("nothing after the last newline adds no line") {
    const parsed p = parse("first\n");
    CHECK(p.lines == 1);
    CHECK(p.members == std::vector<member>{{"user:first", now}});
  }
  SECTION("without finish the last line is not seen") {
    line_parser parser(now);
    std::vector<member> members;
    auto on_member = [&](const member& m) { members.push_back(m); };
    auto on_error = [&](line_error&&) { FAIL("no error expected"); };
    parser.feed("first\nlast", on_member, on_error);
    CHECK(members == std::vector<member>{{"user:first", now}});
    parser.finish(on_member, on_error);
    CHECK(members == std::vector<member>{{"user:first", now}, {"user:last", now}});
    parser.finish(on_member, on_error);  // a second finish adds nothing
    CHECK(members.size() == 2);
    CHECK(parser.lines() == 2);
  }
  SECTION("an empty file has no lines") {
    const parsed p = parse("");
    CHECK(p.lines == 0);
    CHECK(p.members.empty());
    CHECK(p.errors.empty());
  }
}

TEST_CASE("any chunking of a file gives the same members and errors", "[audience][unit]") {
  std::string file = "\xEF\xBB\xBF# audience export\r\n";
  for (int i = 0; i < 50; ++i) {
    file += "user-" + std::to_string(i) + "\t" + std::to_string(nov20 + i) + "\r\n";
    if (i % 7 == 0) file += "ifa:dev-" + std::to_string(i) + "\n";
    if (i % 11 == 0) file += "bad id " + std::to_string(i) + "\n";
    if (i % 13 == 0) file += std::string(4097 + static_cast<std::size_t>(i), 'o') + "\r\n";
    if (i % 17 == 0) file += "   \n# comment\n";
    if (i % 19 == 0) file += "caf\xC3\xA9-" + std::to_string(i) + "\t2026-11-20T10:00:00Z\n";
  }
  file += "last-without-newline\t1795132800";
  const parsed whole = parse(file);
  REQUIRE(whole.members.size() == 50 + 8 + 3 + 1);
  REQUIRE(whole.errors.size() == 5 + 4);
  CHECK(whole.members.front() == member{"user:user-0", nov20});
  CHECK(whole.members.back() == member{"user:last-without-newline", nov20});

  const std::size_t chunk =
      GENERATE(std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64},
               std::size_t{4095}, std::size_t{4096}, std::size_t{4097}, std::size_t{65536});
  CAPTURE(chunk);
  const parsed pieces = parse(file, chunk);
  CHECK(pieces.members == whole.members);
  CHECK(pieces.errors == whole.errors);
  CHECK(pieces.lines == whole.lines);
}
