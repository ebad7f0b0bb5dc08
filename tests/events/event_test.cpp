#include "bidder/events/event.hpp"

#include <google/protobuf/util/json_util.h>

#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "bidder/events/detail/event_record.hpp"
#include "bidder/events/v1/events.pb.h"
#include "tests/events/events_test_support.hpp"

namespace {

using bidder::money;
using bidder::events::event;
using bidder::events::event_kind;
using bidder::events::to_json_line;
using events_test::sample;
namespace pb = bidder::events::v1;

// Parses `line` strictly (unknown fields are an error) into the schema's message.
pb::Event parse_with_schema(const std::string& line) {
  pb::Event out;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &out, options);
  INFO(line);
  REQUIRE(status.ok());
  return out;
}

}  // namespace

TEST_CASE("each kind is written as one line with its fields in field order", "[events][unit]") {
  const std::string common_head =
      R"("time_ms":1795342530250,"auction_id":"auction-1","imp_id":"1","bid_id":"bid-7",)"
      R"("campaign_id":"auto-intenders","creative_id":"auto-banner-1",)";
  const std::string common_tail =
      R"("currency":"USD","exchange":"x1","seat":"seat-9","user_key_hash":"9f2c51d0a7b3e4c1",)"
      R"("deal_id":"deal-3",)";
  const std::string device = R"("device_type":4,"country":"USA"})";
  SECTION("bid") {
    CHECK(to_json_line(sample(event_kind::bid)) == R"({"kind":"BID",)" + common_head +
                                                       R"("bid_price_micros":2500000,)" +
                                                       common_tail + device + "\n");
  }
  SECTION("win") {
    CHECK(to_json_line(sample(event_kind::win)) ==
          R"({"kind":"WIN",)" + common_head +
              R"("bid_price_micros":2500000,"clearing_price_micros":1800000,)" + common_tail +
              device.substr(0, device.size() - 1) + R"(,"charged":false})" + "\n");
  }
  SECTION("bill") {
    CHECK(to_json_line(sample(event_kind::bill)) ==
          R"({"kind":"BILL",)" + common_head +
              R"("bid_price_micros":2500000,"clearing_price_micros":1800000,)" + common_tail +
              device.substr(0, device.size() - 1) + R"(,"charged":false})" + "\n");
  }
  SECTION("loss") {
    CHECK(to_json_line(sample(event_kind::loss)) ==
          R"({"kind":"LOSS",)" + common_head + R"("bid_price_micros":2500000,)" + common_tail +
              R"("loss_reason":102,)" + device + "\n");
  }
  SECTION("click") {
    CHECK(to_json_line(sample(event_kind::click)) ==
          R"({"kind":"CLICK",)" + common_head + common_tail + device + "\n");
  }
  SECTION("conversion") {
    CHECK(to_json_line(sample(event_kind::conversion)) ==
          R"({"kind":"CONVERSION",)" + common_head + common_tail +
              device.substr(0, device.size() - 1) +
              R"(,"conversion_id":"order-1187","value_micros":59900000,)"
              R"("attribution":"last_click"})" +
              "\n");
  }
}

TEST_CASE("empty fields are left out, and kind, time and campaign are always there",
          "[events][unit]") {
  event e;
  e.kind = event_kind::click;
  e.time_ms = 5;
  e.campaign_id = "c";
  CHECK(to_json_line(e) == R"({"kind":"CLICK","time_ms":5,"campaign_id":"c"})"
                           "\n");
  e.kind = event_kind::win;  // a win states both prices, even zero ones, and whether it charged
  CHECK(to_json_line(e) == R"({"kind":"WIN","time_ms":5,"campaign_id":"c","bid_price_micros":0,)"
                           R"("clearing_price_micros":0,"charged":false})"
                           "\n");
  e.kind = event_kind::loss;
  CHECK(to_json_line(e, /*truncated=*/true) ==
        R"({"kind":"LOSS","time_ms":5,"campaign_id":"c","bid_price_micros":0,"loss_reason":0,)"
        R"("truncated":true})"
        "\n");
}

TEST_CASE("every kind's line parses into bidder.events.v1.Event with the same values",
          "[events][unit][schema]") {
  const auto kind = GENERATE(event_kind::bid, event_kind::win, event_kind::bill, event_kind::loss,
                             event_kind::click, event_kind::conversion);
  const event e = sample(kind);
  const pb::Event m = parse_with_schema(to_json_line(e));
  CHECK(static_cast<int>(m.kind()) == static_cast<int>(kind));
  CHECK(pb::Event::Kind_Name(m.kind()) == std::string(bidder::events::to_string(kind)));
  CHECK(m.time_ms() == e.time_ms);
  CHECK(m.auction_id() == e.auction_id);
  CHECK(m.imp_id() == e.imp_id);
  CHECK(m.bid_id() == e.bid_id);
  CHECK(m.campaign_id() == e.campaign_id);
  CHECK(m.creative_id() == e.creative_id);
  CHECK(m.bid_price_micros() == e.bid_price.micros());
  CHECK(m.clearing_price_micros() == e.clearing_price.micros());
  CHECK(m.currency() == e.currency);
  CHECK(m.exchange() == e.exchange);
  CHECK(m.seat() == e.seat);
  CHECK(m.user_key_hash() == "9f2c51d0a7b3e4c1");
  CHECK(m.deal_id() == e.deal_id);
  CHECK(m.loss_reason() == e.loss_reason);
  CHECK(m.device_type() == e.device_type);
  CHECK(m.country() == e.country);
  CHECK(m.conversion_id() == e.conversion_id);
  CHECK(m.value_micros() == e.value.micros());
  CHECK(m.attribution() == (kind == event_kind::conversion ? "last_click" : ""));
  CHECK_FALSE(m.truncated());
}

TEST_CASE("hostile bytes in ids still make one valid JSON line", "[events][unit][schema]") {
  const std::string nasty = std::string("a\"b\\c\nd\re\tf") + '\0' + "\x01\x1f" +
                            "\xff\xfe" +          // never valid UTF-8
                            "\xc3\xa9" +          // é, valid: kept
                            "\xe2\x82" +          // a 3-byte sequence cut short
                            "\xed\xa0\x80" +      // a UTF-16 surrogate in UTF-8
                            "\xf0\x9f\x98\x80" +  // an emoji, valid: kept
                            "\xc0\xaf";           // an overlong '/'
  event e = sample(event_kind::bid);
  e.auction_id = nasty;
  e.campaign_id = nasty;
  const std::string line = to_json_line(e);
  CHECK(line.find('\n') == line.size() - 1);
  for (unsigned char c : line.substr(0, line.size() - 1)) CHECK(c >= 0x20);
  const pb::Event m = parse_with_schema(line);
  const std::string replacement = "\xef\xbf\xbd";
  const std::string expected = std::string("a\"b\\c\nd\re\tf") + '\0' + "\x01\x1f" + replacement +
                               replacement + "\xc3\xa9" + replacement + replacement + replacement +
                               replacement + replacement + "\xf0\x9f\x98\x80" + replacement +
                               replacement;
  CHECK(m.auction_id() == expected);
  CHECK(m.campaign_id() == expected);
}

TEST_CASE("user keys are hashed with SipHash-2-4 (reference vectors)", "[events][unit]") {
  std::array<unsigned char, 16> key_bytes{};
  for (int i = 0; i < 16; ++i) key_bytes[i] = static_cast<unsigned char>(i);
  const auto key = bidder::events::user_hash_key::from_bytes(key_bytes);
  std::string message;
  auto hash = [&](std::size_t length) {
    message.clear();
    for (std::size_t i = 0; i < length; ++i) message += static_cast<char>(i);
    return bidder::events::hash_user_key(message, key);
  };
  // From the SipHash paper's reference implementation (key 00..0f, message 00..len-1).
  CHECK(hash(0) == 0x726fdb47dd0e0e31ULL);
  CHECK(hash(1) == 0x74f839c593dc67fdULL);
  CHECK(hash(7) == 0xab0200f58b01d137ULL);
  CHECK(hash(8) == 0x93f5f5799a932462ULL);
  CHECK(hash(15) == 0xa129ca6149be45e5ULL);
  CHECK(hash(63) == 0x958a324ceb064572ULL);
  SECTION("another key gives another hash, so a list of ids cannot be checked without it") {
    const bidder::events::user_hash_key other{key.k0, key.k1 + 1};
    CHECK(bidder::events::hash_user_key("buyeruid:alice", key) !=
          bidder::events::hash_user_key("buyeruid:alice", other));
  }
}

TEST_CASE("a packed event reads back the same, and over-long ids are cut to fit the slot",
          "[events][unit]") {
  using bidder::events::detail::event_record;
  using bidder::events::detail::max_text_bytes;
  event_record record{};
  SECTION("an ordinary event round-trips exactly") {
    const event e = sample(GENERATE(event_kind::win, event_kind::conversion));
    CHECK_FALSE(bidder::events::detail::pack(e, record));
    CHECK(to_json_line(bidder::events::detail::unpack(record)) == to_json_line(e));
  }
  SECTION("a bid's features that do not fit are dropped whole, never cut") {
    event e = sample(event_kind::bid);
    std::string features;
    for (int i = 0; features.size() < 400; ++i)
      features += "g=segment-" + std::to_string(i) + ":1 ";
    features.pop_back();
    e.features = features;
    CHECK(bidder::events::detail::pack(e, record));
    CHECK(bidder::events::detail::unpack(record).features.empty());
    e.features = std::string_view(features).substr(0, features.find(" g=segment-9:1"));
    CHECK_FALSE(bidder::events::detail::pack(e, record));
    CHECK(bidder::events::detail::unpack(record).features == e.features);
  }
  SECTION("no user hash stays absent") {
    event e = sample(event_kind::bid);
    e.user_key_hash.reset();
    CHECK_FALSE(bidder::events::detail::pack(e, record));
    CHECK_FALSE(bidder::events::detail::unpack(record).user_key_hash.has_value());
  }
  SECTION("long exchange ids are cut first; campaign, prices and kind are kept") {
    const std::string campaign(128, 'c'), creative(128, 'r'), longer(300, 'x');
    event e = sample(event_kind::bill);
    e.campaign_id = campaign;
    e.creative_id = creative;
    e.auction_id = longer;
    e.imp_id = longer;
    e.seat = longer;
    e.deal_id = longer;
    CHECK(bidder::events::detail::pack(e, record));
    CHECK(record.truncated);
    const event back = bidder::events::detail::unpack(record);
    CHECK(back.campaign_id == campaign);
    CHECK(back.creative_id == creative);
    CHECK(back.bid_id == e.bid_id);
    CHECK(back.exchange == e.exchange);
    // The seat is cut first (as far as needed); the deal id, next in line, is whole.
    CHECK(back.seat.size() < bidder::events::detail::max_field_bytes);
    CHECK(back.deal_id.size() == bidder::events::detail::max_field_bytes);
    CHECK(back.auction_id.size() <= bidder::events::detail::max_field_bytes);
    std::size_t total = 0;
    for (auto length : record.length) total += length;
    CHECK(total == max_text_bytes);
    CHECK(back.clearing_price == e.clearing_price);
    CHECK(back.bid_price == e.bid_price);
    CHECK(back.kind == event_kind::bill);
    CHECK(parse_with_schema(to_json_line(back, true)).truncated());
  }
  SECTION("ids of every field at their longest still fit, campaign id intact") {
    const std::string huge(10'000, 'z');
    event e = sample(event_kind::bid);
    e.auction_id = e.imp_id = e.bid_id = e.creative_id = e.currency = e.exchange = e.seat =
        e.deal_id = e.country = huge;
    e.campaign_id = std::string_view(huge).substr(0, 100);
    CHECK(bidder::events::detail::pack(e, record));
    CHECK(bidder::events::detail::unpack(record).campaign_id == e.campaign_id);
  }
}
