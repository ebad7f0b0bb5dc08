// The market's pure pieces: auction rules, the oracle's first-price bid, seeded users and
// opportunities, macro substitution and the time injection of bidsim (bench/sim).
#include "bench/sim/market.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>

#include "bench/sim/bidders.hpp"
#include "bench/sim/http_client.hpp"
#include "bench/sim/simulator.hpp"

using namespace bidder::sim;

TEST_CASE("first price charges the bid, second price the second-highest or the floor",
          "[sim][unit]") {
  SECTION("first price") {
    const auction_result r = run_auction(auction_kind::first_price, 2.5, 0.5, 1.8);
    CHECK(r.won);
    CHECK(r.clearing_cpm == 2.5);
  }
  SECTION("second price: the best competing bid") {
    const auction_result r = run_auction(auction_kind::second_price, 2.5, 0.5, 1.8);
    CHECK(r.won);
    CHECK(r.clearing_cpm == 1.8);
  }
  SECTION("second price: the floor when the competitors bid under it") {
    const auction_result r = run_auction(auction_kind::second_price, 2.5, 0.9, 0.4);
    CHECK(r.won);
    CHECK(r.clearing_cpm == 0.9);
  }
  SECTION("outbid, and a tie goes to the competitor") {
    for (auto kind : {auction_kind::first_price, auction_kind::second_price}) {
      const auction_result lower = run_auction(kind, 1.0, 0.5, 1.8);
      CHECK_FALSE(lower.won);
      CHECK(lower.loss_reason == 102);
      CHECK(lower.min_to_win_cpm == Approx(1.81));
      CHECK_FALSE(run_auction(kind, 1.8, 0.5, 1.8).won);
    }
  }
  SECTION("under the floor") {
    const auction_result r = run_auction(auction_kind::second_price, 0.3, 0.5, 0.1);
    CHECK_FALSE(r.won);
    CHECK(r.loss_reason == 100);
  }
}

TEST_CASE("the oracle's first-price bid maximises its expected surplus", "[sim][unit]") {
  exchange_spec e;
  e.kind = auction_kind::first_price;
  e.competitors = 3;
  e.competitor_mu = 0.4;
  e.competitor_sigma = 0.6;
  for (double value : {0.8, 2.0, 5.0, 20.0}) {
    INFO("value " << value);
    const auto bid = best_first_price_bid(e, value, 0.5);
    REQUIRE(bid);
    CHECK(*bid >= 0.5);
    CHECK(*bid < value);  // shaded
    const double best = (value - *bid) * win_probability(e, *bid);
    for (double b = 0.5; b < value; b += 0.01) {
      CHECK((value - b) * win_probability(e, b) <= best + 0.01 * value);
    }
  }
  CHECK_FALSE(best_first_price_bid(e, 0.4, 0.5));  // the value does not reach the floor
  CHECK(win_probability(e, 0) == 0);
  CHECK(win_probability(e, 1e6) == Approx(1));
}

TEST_CASE("a seed gives one population and one stream of opportunities", "[sim][unit]") {
  scenario s = default_scenario();
  s.users = 500;
  const population a = make_population(s);
  const population b = make_population(s);
  REQUIRE(a.size() == 500);
  bool same = true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].id == b[i].id && a[i].zip == b[i].zip && a[i].affluent == b[i].affluent &&
           a[i].car_visit_days_ago == b[i].car_visit_days_ago &&
           a[i].click_latent == b[i].click_latent;
  }
  CHECK(same);
  const opportunity o1 = make_opportunity(s, a, 123);
  const opportunity o2 = make_opportunity(s, b, 123);
  CHECK(o1.user == o2.user);
  CHECK(o1.highest_competitor_cpm == o2.highest_competitor_cpm);
  CHECK(o1.click_draw == o2.click_draw);
  s.seed = 2;
  const population c = make_population(s);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) differ += a[i].zip != c[i].zip;
  CHECK(differ > 100);
  CHECK(make_opportunity(s, c, 123).highest_competitor_cpm != o1.highest_competitor_cpm);

  SECTION("the simulated clock: days of requests_per_day requests, hours spread evenly") {
    s.requests_per_day = 240;
    CHECK(make_opportunity(s, c, 0).day == 0);
    CHECK(make_opportunity(s, c, 0).hour == 0);
    CHECK(make_opportunity(s, c, 239).hour == 23);
    CHECK(make_opportunity(s, c, 240).day == 1);
    CHECK(make_opportunity(s, c, 250).hour == 1);
  }
}

TEST_CASE("segments follow the users' features, with the car-site recency", "[sim][unit]") {
  user u;
  u.car_visit_days_ago = 9;
  CHECK(has_segment(u, {segment_car_visitor, 10}));
  u.car_visit_days_ago = 10;
  CHECK_FALSE(has_segment(u, {segment_car_visitor, 10}));
  CHECK(has_segment(u, {segment_car_visitor, 0}));
  u.car_visit_days_ago = -1;
  CHECK_FALSE(has_segment(u, {segment_car_visitor, 0}));
  CHECK_FALSE(has_segment(u, {segment_affluent, 0}));
  u.affluent = true;
  CHECK(has_segment(u, {segment_affluent, 0}));
}

TEST_CASE("the utcoffset makes the bidder's local hour the simulated hour", "[sim][unit]") {
  for (std::int64_t now : {1'796'500'000LL, 1'796'543'210LL, 1'796'586'399LL}) {
    for (int hour = 0; hour < 24; ++hour) {
      const int offset = offset_for_local_hour(now, hour);
      CHECK(offset >= -12 * 60);
      CHECK(offset <= 14 * 60);
      const std::int64_t local = now + std::int64_t{offset} * 60;
      CHECK((local % 86'400) / 3600 == hour);
    }
  }
}

TEST_CASE("notice macros are substituted as an exchange does", "[sim][unit]") {
  const std::string url =
      "http://h/notice/loss?auction=${AUCTION_ID}&imp=${AUCTION_IMP_ID}&reason=${AUCTION_LOSS}"
      "&min=${AUCTION_MIN_TO_WIN}&price=${AUCTION_PRICE}";
  CHECK(substitute_macros(url, "a1", 0, 102, 1.234567891, true) ==
        "http://h/notice/loss?auction=a1&imp=1&reason=102&min=1.234567&price=");
  CHECK(substitute_macros(url, "a1", 0, 102, 1.5, false) ==
        "http://h/notice/loss?auction=a1&imp=1&reason=102&min=&price=");
  CHECK(substitute_macros("p=${AUCTION_PRICE}", "a", 2.5, 0, 0, false) == "p=2.500000");
}

TEST_CASE("bid answers: the click URL, and garbage is an error", "[sim][unit]") {
  const scenario s = default_scenario();
  CHECK(find_click_url("<a href=\"http://127.0.0.1:1/click?a=1&amp;b=2\"><img></a>") ==
        "http://127.0.0.1:1/click?a=1&b=2");
  CHECK(find_click_url("<img src=x>").empty());
  const bid_answer good = parse_bid_response(
      s,
      R"({"id":"r","seatbid":[{"bid":[{"id":"b1","impid":"1","price":2.5,"cid":"luxury-upgrade",)"
      R"("nurl":"http://127.0.0.1:1/notice/win?x","adm":"<a href=\"http://127.0.0.1:1/click?c=1\">"}]}]})");
  REQUIRE(good.error == bid_error::none);
  REQUIRE(good.offer);
  CHECK(good.offer->campaign == 1);
  CHECK(good.offer->price_cpm == 2.5);
  CHECK(good.offer->click_url == "http://127.0.0.1:1/click?c=1");
  for (const char* bad : {"", "garbage", "[]", "{}", R"({"seatbid":3})",
                          R"({"seatbid":[{"bid":[{"impid":"1","price":"x"}]}]})",
                          R"({"seatbid":[{"bid":[{"impid":"1","price":-1}]}]})",
                          R"({"seatbid":[{"bid":[{"impid":"2","price":1}]}]})"}) {
    INFO(bad);
    CHECK(parse_bid_response(s, bad).error == bid_error::bad_body);
  }
  CHECK(parse_bid_response(s, R"({"seatbid":[{"bid":[{"impid":"1","price":1,"cid":"nope"}]}]})")
            .error == bid_error::unknown_campaign);
}

TEST_CASE("the click id comes back from the landing page's URL", "[sim][unit]") {
  CHECK(landing_click_id("https://shop.example/?src=bidsim&bclid=7-0-1f") == "7-0-1f");
  CHECK(landing_click_id("https://shop.example/?bclid=a%2Fb#top") == "a/b");
  CHECK(landing_click_id("https://shop.example/?bclid=a%zz%4") == "a%zz%4");
  CHECK(landing_click_id("https://shop.example/?xbclid=1&bclidx=2").empty());
  CHECK(landing_click_id("https://shop.example/").empty());
  CHECK(landing_click_id("").empty());
}

TEST_CASE("the HTTP client reads chunked bodies and redirects", "[sim][unit]") {
  // A one-shot loopback server that answers with a chunked body.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t port = acceptor.local_endpoint().port();
  std::thread server([&] {
    boost::asio::ip::tcp::socket socket(io);
    acceptor.accept(socket);
    char buf[1024];
    boost::system::error_code ec;
    socket.read_some(boost::asio::buffer(buf), ec);
    const std::string answer =
        "HTTP/1.1 302 Found\r\nLocation: https://x.example/?bclid=9\r\n"
        "Transfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(answer), ec);
  });
  http_client client("127.0.0.1", port, std::chrono::milliseconds(2000));
  const http_outcome r = client.send("GET", "/click?x=1");
  server.join();
  CHECK(r.failure == http_failure::none);
  CHECK(r.status == 302);
  CHECK(r.body == "abcdefg");
  CHECK(r.location == "https://x.example/?bclid=9");
  url_parts parts;
  std::string error;
  CHECK(parse_loopback_url("http://[::1]:8080/bid", parts, error));
  CHECK(parts.port == 8080);
  CHECK(parts.target == "/bid");
  CHECK_FALSE(parse_loopback_url("http://localhost:8080/bid", parts, error));
  CHECK_FALSE(parse_loopback_url("https://127.0.0.1/bid", parts, error));
  CHECK_FALSE(parse_loopback_url("http://127.0.0.1:99999/bid", parts, error));
}
