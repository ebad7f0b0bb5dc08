#include <catch2/catch.hpp>
#include <string>

#include "bidder/http/bid_handler.hpp"

using bidder::http::landing_url_with_click_id;

TEST_CASE("the click redirect adds the click id to the landing URL, before its fragment",
          "[http][unit]") {
  std::string out;
  CHECK(landing_url_with_click_id("https://a.example/p", "b-1", out) ==
        "https://a.example/p?bclid=b-1");
  CHECK(landing_url_with_click_id("https://a.example/p?x=1", "b-1", out) ==
        "https://a.example/p?x=1&bclid=b-1");
  CHECK(landing_url_with_click_id("https://a.example/p?x=1#top", "b 1&", out) ==
        "https://a.example/p?x=1&bclid=b%201%26#top");
  CHECK(landing_url_with_click_id("https://a.example/#/route?q", "b", out) ==
        "https://a.example/?bclid=b#/route?q");
  CHECK(landing_url_with_click_id("https://a.example/p", "", out) == "https://a.example/p");
}
