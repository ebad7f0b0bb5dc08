#include "bidder/notice/notice_url.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace {

using bidder::money;
using bidder::notice::bid_identity;
using bidder::notice::notice_kind;
using bidder::notice::notice_parser;

bid_identity identity() {
  return {.request_id = "req 1/ü",
          .imp_id = "imp-1",
          .bid_id = "feed-3-1",
          .campaign_id = "c1",
          .creative_id = "cr-1",
          .price_micros = 2'500'000,
          .currency = "USD",
          .issued_at = 1'750'000'000,
          .users = "00112233445566aa.0123456789abcdef"};
}

// What an exchange does with a URL: substitutes the macros (percent-encoding the ids).
std::string substitute(std::string url, const std::string& price) {
  auto replace = [&](const std::string& macro, const std::string& value) {
    for (std::size_t at; (at = url.find(macro)) != std::string::npos;)
      url.replace(at, macro.size(), value);
  };
  replace("${AUCTION_ID}", "req%201%2F%C3%BC");
  replace("${AUCTION_IMP_ID}", "imp-1");
  replace("${AUCTION_PRICE}", price);
  replace("${AUCTION_LOSS}", "102");
  replace("${AUCTION_MIN_TO_WIN}", "3.10");
  return url;
}

std::string query_of(const std::string& url) { return url.substr(url.find('?') + 1); }

}  // namespace

TEST_CASE("paths name the notice kinds", "[notice][unit]") {
  CHECK(bidder::notice::kind_from_path("/notice/win") == notice_kind::win);
  CHECK(bidder::notice::kind_from_path("/notice/bill") == notice_kind::bill);
  CHECK(bidder::notice::kind_from_path("/notice/loss") == notice_kind::loss);
  CHECK(bidder::notice::kind_from_path("/click") == notice_kind::click);
  CHECK_FALSE(bidder::notice::kind_from_path("/notice/won"));
  CHECK_FALSE(bidder::notice::kind_from_path("/bid"));
}

TEST_CASE("a built URL carries the macros and parses back to the same identity", "[notice][unit]") {
  std::string url;
  bidder::notice::append_notice_url(url, "https://bid.example", notice_kind::win, identity(),
                                    "SIGNATURE_22_CHARS_abc");
  CHECK_THAT(url, Catch::StartsWith("https://bid.example/notice/win?auction=${AUCTION_ID}"
                                    "&imp=${AUCTION_IMP_ID}&bid=feed-3-1&campaign=c1"));
  CHECK_THAT(url, Catch::Contains("&price=${AUCTION_PRICE}&sig=SIGNATURE_22_CHARS_abc"));
  notice_parser parser;
  auto parsed = parser.parse(notice_kind::win, query_of(substitute(url, "1.75")));
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE((parsed).has_value());
  const bid_identity& got = parsed->id;
  CHECK(got.request_id == "req 1/ü");
  CHECK(got.imp_id == "imp-1");
  CHECK(got.bid_id == "feed-3-1");
  CHECK(got.campaign_id == "c1");
  CHECK(got.creative_id == "cr-1");
  CHECK(got.price_micros == 2'500'000);
  CHECK(got.currency == "USD");
  CHECK(got.issued_at == 1'750'000'000);
  CHECK(got.users == "00112233445566aa.0123456789abcdef");
  CHECK(parsed->signature == "SIGNATURE_22_CHARS_abc");
  REQUIRE(parsed->clearing_price);
  CHECK(*parsed->clearing_price == money::from_units(1.75));

  SECTION("a loss reads its reason and the price to beat") {
    std::string loss;
    bidder::notice::append_notice_url(loss, "https://bid.example", notice_kind::loss, identity(),
                                      "S");
    auto l = parser.parse(notice_kind::loss, query_of(substitute(loss, "4.00")));
    REQUIRE((l).has_value());
    CHECK(l->loss_reason == "102");
    REQUIRE(l->min_to_win);
    CHECK(*l->min_to_win == money::from_units(3.10));
  }
  SECTION("a loss whose exchange left the macros alone still parses") {
    std::string loss;
    bidder::notice::append_notice_url(loss, "https://bid.example", notice_kind::loss, identity(),
                                      "S");
    auto l = parser.parse(notice_kind::loss, query_of(loss));
    REQUIRE((l).has_value());
    CHECK_FALSE(l->clearing_price);
    CHECK(l->loss_reason.empty());
    CHECK_FALSE(l->min_to_win);
  }
  SECTION("a click URL has no price") {
    std::string click;
    bidder::notice::append_notice_url(click, "https://bid.example", notice_kind::click, identity(),
                                      "S");
    CHECK_THAT(click, Catch::StartsWith("https://bid.example/click?"));
    CHECK_THAT(click, !Catch::Contains("price="));
    CHECK(parser.parse(notice_kind::click, query_of(substitute(click, ""))).has_value());
  }
}

TEST_CASE("a win without a readable clearing price is refused with the parameter named",
          "[notice][unit]") {
  std::string url;
  bidder::notice::append_notice_url(url, "", notice_kind::win, identity(), "S");
  notice_parser parser;
  for (const std::string price : {"${AUCTION_PRICE}", "", "-1", "abc", "1e400", "nan", "1.5x"}) {
    INFO("price=" << price);
    const std::string q =
        price == "${AUCTION_PRICE}" ? query_of(url) : query_of(substitute(url, price));
    auto parsed = parser.parse(notice_kind::win, q);
    REQUIRE_FALSE((parsed).has_value());
    CHECK(parsed.error().code == bidder::errc::invalid_field);
    CHECK_THAT(parsed.error().message, Catch::StartsWith("price:"));
  }
  auto no_price = parser.parse(notice_kind::bill, "bid=a&sig=b");
  REQUIRE_FALSE(no_price.has_value());
  CHECK(no_price.error().message == "price: missing");
}

TEST_CASE("a parameter given twice is refused and unknown ones are ignored", "[notice][unit]") {
  notice_parser parser;
  auto twice = parser.parse(notice_kind::win, "campaign=a&price=1&campaign=b");
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().message == "campaign: given twice");
  auto extra = parser.parse(notice_kind::win, "campaign=a&price=1&exchange_extra=7&&");
  REQUIRE((extra).has_value());
  CHECK(extra->id.campaign_id == "a");
  CHECK(extra->id.price_micros == -1);  // missing signed numbers never verify
  CHECK(extra->id.issued_at == -1);
  auto garbled = parser.parse(notice_kind::win, "bp=12abc&t=-5&price=1");
  REQUIRE((garbled).has_value());
  CHECK(garbled->id.price_micros == -1);
  CHECK(garbled->id.issued_at == -1);
  auto long_query = parser.parse(notice_kind::win, std::string(5000, 'a'));
  REQUIRE_FALSE(long_query.has_value());
  CHECK(long_query.error().code == bidder::errc::too_large);
}

TEST_CASE("a shaded bid's field is carried, parsed and signed; without it the URL is unchanged",
          "[notice][unit][shading]") {
  auto signer = *bidder::notice::signer::from_key(std::string(40, 'k'));
  auto mac = signer.new_context();
  bid_identity id = identity();
  id.key_id = signer.signing_key_id();
  id.purpose = static_cast<std::uint8_t>(notice_kind::loss);
  std::string plain_signature, plain;
  mac.sign(id, plain_signature);
  bidder::notice::append_notice_url(plain, "https://bid.example", notice_kind::loss, id,
                                    plain_signature);
  CHECK(plain.find("&s=") == std::string::npos);

  id.shading = "3.6.2345678";
  std::string signature, url;
  mac.sign(id, signature);
  CHECK(signature != plain_signature);  // the field is signed
  bidder::notice::append_notice_url(url, "https://bid.example", notice_kind::loss, id, signature);
  CHECK_THAT(url, Catch::Contains("&s=3.6.2345678&"));
  notice_parser parser;
  auto parsed = parser.parse(notice_kind::loss, query_of(substitute(url, "")));
  REQUIRE(parsed.has_value());
  CHECK(parsed->id.shading == "3.6.2345678");
  REQUIRE(parsed->min_to_win);
  CHECK(parsed->min_to_win->micros() == 3'100'000);
  CHECK(mac.verify(parsed->id, parsed->signature));
  // Dropped or changed, it no longer verifies.
  bid_identity stripped = parsed->id;
  stripped.shading = {};
  CHECK_FALSE(mac.verify(stripped, parsed->signature));
  stripped.shading = "3.6.2345679";
  CHECK_FALSE(mac.verify(stripped, parsed->signature));
}
