#include "bidder/browsing/ingest.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using bidder::browsing::ingest_events;
using bidder::browsing::refusal;
using bidder::browsing::rule_set;
namespace v1 = bidder::config::v1;

constexpr bidder::unix_seconds now = 1'796'500'000;

rule_set rules() {
  v1::AudienceEvents c;
  c.add_sources()->set_id("auto");
  auto* r = c.add_rules();
  r->set_id("visitors");
  r->set_segment("auto-site-visitor");
  r->add_url_prefixes("example-auto.com/models/");
  r = c.add_rules();
  r->set_id("buyers");
  r->set_segment("recent-buyer");
  r->set_ttl_days(30);
  r->add_actions("purchase");
  return rule_set::compile(c);
}

struct outcome {
  bidder::browsing::ingest_result result;
  std::vector<bidder::audience::event_membership> writes;
};

outcome ingest(std::string_view body, const bidder::browsing::admit_fn& admit = {}) {
  outcome o;
  o.result = ingest_events(body, now, rules(), admit, o.writes);
  return o;
}

// The refusal of a one-line body.
std::pair<refusal, std::string> refusal_of(const std::string& line) {
  const outcome o = ingest(line);
  INFO(line);
  REQUIRE(o.result.refused == 1);
  REQUIRE(o.result.problems.size() == 1);
  CHECK(o.result.problems[0].line == 1);
  CHECK(o.writes.empty());
  return {o.result.problems[0].reason, o.result.problems[0].message};
}

}  // namespace

TEST_CASE("a good event gives one membership per user id and matching rule", "[browsing][unit]") {
  const outcome o =
      ingest(R"({"source":"auto","user_ids":["buyeruid:b1","uid2:AbC"],"action":"purchase",)"
             R"("url":"https://example-auto.com/models/suv","time":1796400000})");
  CHECK(o.result.accepted == 1);
  CHECK(o.result.memberships == 4);
  REQUIRE(o.writes.size() == 4);
  CHECK(o.writes[0].user_key == "buyeruid:b1");
  CHECK(o.writes[0].segment == "auto-site-visitor");
  CHECK(o.writes[0].last_seen == 1796400000);
  CHECK(o.writes[0].expires_at == 0);
  CHECK(o.writes[1].user_key == "eid:uidapi.com:AbC");
  CHECK(o.writes[2].segment == "recent-buyer");
  CHECK(o.writes[2].expires_at == 1796400000 + 30 * 86'400);
}

TEST_CASE("an event no rule matches is unmatched, not refused", "[browsing][unit]") {
  const outcome o = ingest(
      R"({"source":"auto","user_id":"ifa:d1","action":"page_view","url":"https://example-auto.com/blog"})"
      "\n"
      R"({"source":"auto","user_id":"ifa:d1","action":"purchase","site":"example-auto.com","time":1700000000})");
  // The second matches the buyers rule, but its 30 days ran out long ago: nothing to write.
  CHECK(o.result.unmatched == 2);
  CHECK(o.result.refused == 0);
  CHECK(o.writes.empty());
}

TEST_CASE("every bad event is refused with its line number and reason", "[browsing][unit]") {
  const std::string ok_tail = R"("action":"page_view","url":"https://example-auto.com/models/")";
  CHECK(refusal_of("not json").first == refusal::not_json);
  CHECK(refusal_of("[1,2]").first == refusal::not_json);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a",)" + ok_tail + R"(,"colour":"red"})") ==
        std::pair{refusal::unknown_field, std::string("colour: unknown field")});
  CHECK(refusal_of(R"({"source":"auto",)" + ok_tail + "}").first == refusal::missing_user_id);
  CHECK(refusal_of(R"({"source":"auto","user_ids":["fb:123"],)" + ok_tail + "}").first ==
        refusal::bad_user_id);
  CHECK(refusal_of(R"({"source":"auto","user_ids":["ifa:has space"],)" + ok_tail + "}").first ==
        refusal::bad_user_id);
  CHECK(refusal_of(R"({"source":"auto","user_ids":["eid:nosource"],)" + ok_tail + "}").first ==
        refusal::bad_user_id);
  CHECK(refusal_of(R"({"source":"auto","user_id":7,)" + ok_tail + "}").first ==
        refusal::bad_user_id);
  CHECK(refusal_of(R"({"source":"nope","user_id":"ifa:a",)" + ok_tail + "}").first ==
        refusal::unknown_source);
  CHECK(refusal_of(R"({"user_id":"ifa:a",)" + ok_tail + "}").first == refusal::missing_field);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a","url":"https://x.example/"})").first ==
        refusal::missing_field);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a","action":"page_view"})").first ==
        refusal::missing_field);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a","action":"page view","site":"a.b"})")
            .first == refusal::bad_field);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a",)" + ok_tail + R"(,"time":"yesterday"})")
            .first == refusal::bad_time);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a",)" + ok_tail + R"(,"time":)" +
                   std::to_string(now + 3600) + "}") ==
        std::pair{refusal::future_time, std::string("time: more than 5 minutes in the future")});
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a",)" + ok_tail + R"(,"time":")" +
                   std::string(9000, '1') + R"("})")
            .first == refusal::oversize);
  CHECK(refusal_of(R"({"source":"auto","user_id":"ifa:a","action":"page_view","url":"a\u0001b"})")
            .first == refusal::bad_field);
}

TEST_CASE("a body mixes good, unmatched and refused lines, with blank lines and CRLF",
          "[browsing][unit]") {
  const outcome o = ingest(
      "\r\n"
      R"({"source":"auto","user_id":"ifa:a","action":"page_view","url":"example-auto.com/models/a"})"
      "\r\n"
      "garbage\n"
      R"({"source":"auto","user_id":"ifa:b","action":"page_view","url":"example-auto.com/about"})");
  CHECK(o.result.accepted == 1);
  CHECK(o.result.unmatched == 1);
  CHECK(o.result.refused == 1);
  REQUIRE(o.result.problems.size() == 1);
  CHECK(o.result.problems[0].line == 3);
  const auto answer = boost::json::parse(bidder::browsing::to_json(o.result)).as_object();
  CHECK(answer.at("accepted").as_int64() == 1);
  CHECK(answer.at("refused_reasons").at("not_json").as_int64() == 1);
  CHECK(answer.at("refused_lines").as_array()[0].at("line").as_int64() == 3);
}

TEST_CASE("lines over the source's rate are refused as rate_limited", "[browsing][unit]") {
  int allowance = 2;
  const std::string line =
      R"({"source":"auto","user_id":"ifa:a","action":"page_view","url":"example-auto.com/models/a"})"
      "\n";
  const outcome o = ingest(line + line + line, [&](std::string_view source) {
    CHECK(source == "auto");
    return allowance-- > 0;
  });
  CHECK(o.result.accepted == 2);
  CHECK(o.result.refused == 1);
  CHECK(o.result.refused_by[static_cast<std::size_t>(refusal::rate_limited)] == 1);
  CHECK(o.result.problems[0].line == 3);
}
