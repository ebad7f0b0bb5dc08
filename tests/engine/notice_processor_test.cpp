#include "bidder/engine/notice_processor.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "bidder/config/loader.hpp"
#include "bidder/engine/auction.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/pricing/registry.hpp"
#include "models/builtin.hpp"

namespace {

using namespace std::chrono_literals;
using bidder::money;
using bidder::steady_clock;
using bidder::unix_seconds;
using bidder::engine::notice_error;
using bidder::engine::snapshot;
using bidder::notice::notice_kind;

constexpr unix_seconds now_s = 1'750'000'000;

std::string campaign_json(const std::string& id, double cpm, const std::string& extra = "") {
  return R"({"id": ")" + id + R"(", "status": "ACTIVE", "advertiser_domains": ["shop.example"],
      "max_cpm": 10, "creatives": [{"id": "cr-)" +
         id + R"(",
        "banner": {"sizes": [{"w": 300, "h": 250}]},
        "markup": "<a href=\"{{CLICK_URL}}\">ad</a>",
        "landing_url": "https://shop.example/landing?c=)" +
         id + R"("}],
      "pricing": {"name": "fixed", "config": {"@type":
        "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", "cpm": )" +
         std::to_string(cpm) + "}}" + (extra.empty() ? "" : ", " + extra) + "}";
}

std::shared_ptr<const snapshot> build(const std::vector<std::string>& campaigns,
                                      std::shared_ptr<bidder::spend::ledger> ledger = nullptr,
                                      const std::string& settings = "") {
  std::string json = "{" + settings + (settings.empty() ? "" : ", ") +
                     R"("notice_base_url": "https://bid.example", "notice_max_age_seconds": 600,
      "currency_rates": {"EUR": 0.5}, "notice_table_slots": 4096,
      "frequency_table_slots": 4096, "campaigns": [)";
  for (std::size_t i = 0; i < campaigns.size(); ++i) json += (i ? ", " : "") + campaigns[i];
  json += "]}";
  auto config = bidder::config::parse(json, "<test>");
  INFO((config ? std::string() : config.error().message));
  REQUIRE(config);
  bidder::pricing::registry registry;
  REQUIRE(bidder::models::register_builtin_models(registry));
  if (!ledger) {
    ledger = std::make_shared<bidder::spend::ledger>(bidder::engine::ledger_options_of(**config));
  }
  auto snap = bidder::engine::build_snapshot(**config, registry, ledger);
  INFO((snap ? std::string() : snap.error().message));
  REQUIRE(snap);
  (*snap)->spend->tick(now_s);
  return *snap;
}

steady_clock::time_point arrival() { return steady_clock::time_point(1000s); }

/// Bids through a real auction (signed URLs) and plays the exchange's part with notices.
struct fixture {
  bidder::notice::signer signer = *bidder::notice::signer::from_key(std::string(40, 'k'));
  bidder::engine::auction auction{nullptr, 1, 0xabc, {.signer = &signer, .user_hash_secret = 99}};
  bidder::engine::notice_processor notices{signer, nullptr};
  bidder::openrtb::bid_request request;
  bidder::openrtb::bid_response response;
  std::optional<std::uint32_t> exchange;  // the request's exchange (nullopt: the default)

  fixture() { init(); }
  /// Bids signed by `s`; `worker` keeps its bid ids apart from other fixtures'.
  fixture(bidder::notice::signer s, std::uint32_t worker)
      : signer(std::move(s)),
        auction(nullptr, worker, 0xabc, {.signer = &signer, .user_hash_secret = 99}) {
    init();
  }
  fixture(const fixture&) = delete;

  void init() {
    request.id = "req/1 x";  // needs escaping in a URL
    request.inventory = bidder::openrtb::inventory_kind::site;
    request.domain = "news.example.com";
    request.user_id = "alice";
    request.ifa = "ifa-alice";
    auto& imp = request.imps.emplace();
    imp.id = "imp-1";
    imp.banner.present = true;
    imp.banner.formats.push_back({300, 250});
  }

  /// Runs one auction; returns the bid (REQUIRE'd).
  const bidder::openrtb::bid& bid(const snapshot& snap, unix_seconds at = now_s) {
    bidder::engine::request_context ctx;
    ctx.arrival = arrival();
    ctx.now = &arrival;
    ctx.wall_now = at;
    ctx.deadline = bidder::engine::compute_deadline(ctx.arrival, 0, snap.config);
    ctx.exchange = exchange;
    const auto outcome = auction.run(snap, request, ctx, response);
    INFO(bidder::engine::to_string(outcome.reason));
    REQUIRE(outcome.is_bid());
    auction.report_bids(request, response, at);
    return response.bids[0];
  }

  /// The exchange's substitution of the macros (ids percent-encoded, as URLs need).
  std::string substitute(std::string url, const std::string& price = "1.50") const {
    auto replace = [&](const std::string& macro, const std::string& value) {
      for (std::size_t at; (at = url.find(macro)) != std::string::npos;) {
        url.replace(at, macro.size(), value);
      }
    };
    replace("${AUCTION_ID}", "req%2F1%20x");
    replace("${AUCTION_IMP_ID}", "imp-1");
    replace("${AUCTION_PRICE}", price);
    replace("${AUCTION_LOSS}", "102");
    replace("${AUCTION_MIN_TO_WIN}", "2.5");
    return url;
  }

  bidder::engine::notice_result send(const snapshot& snap, notice_kind kind, const std::string& url,
                                     unix_seconds at = now_s + 1) {
    return notices.process(snap, kind, url.substr(url.find('?') + 1), at);
  }
};

std::string click_url_of(const std::string& adm) {
  const std::size_t start = adm.find("https://bid.example/click?");
  REQUIRE(start != std::string::npos);
  return adm.substr(start, adm.find('"', start) - start);
}

bidder::spend::amount cost(double cpm) { return bidder::spend::cost_of(money::from_units(cpm)); }

}  // namespace

TEST_CASE("a win notice charges the clearing price once and releases the reservation",
          "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0, R"("budget": {"daily": 1.0})")});
  fixture f;
  const std::string nurl = f.substitute(f.bid(*snap).nurl, "1.25");
  const bidder::spend::account& account = *snap->campaigns[0].account;
  CHECK(account.reserved() == cost(2.0));
  const auto r = f.send(*snap, notice_kind::win, nurl);
  CHECK(r.status == 204);
  CHECK_FALSE(r.error);
  CHECK(account.spent_day(now_s + 1) == cost(1.25));
  CHECK(account.reserved() == 0);
  CHECK(account.wins() == 1);

  const auto again = f.send(*snap, notice_kind::win, nurl);
  CHECK(again.status == 204);
  REQUIRE(again.error);
  CHECK(*again.error == notice_error::replay);
  CHECK(account.spent_day(now_s + 1) == cost(1.25));
  CHECK(account.wins() == 1);

  SECTION("the bill notice of a win counted on WIN only counts the bill") {
    const auto bill =
        f.send(*snap, notice_kind::bill, f.substitute(f.response.bids[0].burl, "1.25"));
    CHECK(bill.status == 204);
    CHECK(account.spent_day(now_s + 1) == cost(1.25));
    CHECK(account.bills() == 1);
  }
  SECTION("a loss after the win is a conflict and changes nothing") {
    const auto loss = f.send(*snap, notice_kind::loss, f.substitute(f.response.bids[0].lurl));
    CHECK(loss.status == 403);
    REQUIRE(loss.error);
    CHECK(*loss.error == notice_error::conflict);
    CHECK(account.losses() == 0);
  }
}

TEST_CASE("a forged notice, or one with any field altered, is refused and changes nothing",
          "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0, R"("frequency_caps": [{"max_impressions": 5,
      "period": "DAY"}])"),
                     campaign_json("c2", 1.0)});
  fixture f;
  const std::string nurl = f.substitute(f.bid(*snap).nurl, "1.00");
  REQUIRE_THAT(nurl, Catch::Contains("&u="));  // a capped campaign signs its user hashes
  auto replace_param = [&](const std::string& name, const std::string& value) {
    const std::size_t at = nurl.find("&" + name + "=") != std::string::npos
                               ? nurl.find("&" + name + "=") + 1
                               : nurl.find("?" + name + "=") + 1;
    REQUIRE(at != std::string::npos + 1);
    const std::size_t end = nurl.find('&', at);
    return nurl.substr(0, at) + name + "=" + value +
           (end == std::string::npos ? "" : nurl.substr(end));
  };
  const std::vector<std::pair<std::string, std::string>> tamperings = {
      {"auction", "req-2"},
      {"imp", "imp-2"},
      {"bid", "0-0-1"},
      {"campaign", "c2"},
      {"creative", "cr-c2"},
      {"bp", "9000000"},
      {"cur", "EUR"},
      {"t", std::to_string(now_s + 100)},
      {"u", "0123456789abcdef"},
      {"x", "another-exchange"},
      {"x", ""},
      {"k", "1"},
      {"sig", "AAAAAAAAAAAAAAAAAAAAAA"},
      {"sig", ""},
  };
  const bidder::spend::account& account = *snap->campaigns[0].account;
  for (const auto& [name, value] : tamperings) {
    INFO(name << "=" << value);
    const auto r = f.send(*snap, notice_kind::win, replace_param(name, value));
    CHECK(r.status == 403);
    REQUIRE(r.error);
    CHECK(*r.error == notice_error::bad_signature);
  }
  SECTION("dropping the signature") {
    const std::string no_sig = nurl.substr(0, nurl.find("&sig="));
    CHECK(*f.send(*snap, notice_kind::win, no_sig).error == notice_error::bad_signature);
  }
  SECTION("a notice signed with another key") {
    auto other = bidder::notice::signer::from_key(std::string(40, 'x'));
    REQUIRE((other).has_value());
    bidder::engine::notice_processor theirs(*other, nullptr);
    const auto r = theirs.process(*snap, notice_kind::win, nurl.substr(nurl.find('?') + 1), now_s);
    CHECK(*r.error == notice_error::bad_signature);
  }
  CHECK(account.spent_day(now_s) == 0);
  CHECK(account.wins() == 0);
  CHECK(account.reserved() == cost(2.0));
  // ... and the genuine notice still works afterwards.
  CHECK(f.send(*snap, notice_kind::win, nurl).status == 204);
  CHECK(account.wins() == 1);
}

TEST_CASE("a clearing price above the bid, a too-old notice and a bad price are refused",
          "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0)});
  fixture f;
  const auto& bid = f.bid(*snap);
  const bidder::spend::account& account = *snap->campaigns[0].account;

  const auto above = f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "2.000001"));
  CHECK(above.status == 403);
  CHECK(*above.error == notice_error::price_above_bid);
  CHECK(f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "2.00")).status == 204);
  fixture g;
  const auto& other = g.bid(*snap);
  const auto old = g.send(*snap, notice_kind::win, g.substitute(other.nurl), now_s + 601);
  CHECK(old.status == 403);
  CHECK(*old.error == notice_error::too_old);
  const auto future = g.send(*snap, notice_kind::win, g.substitute(other.nurl), now_s - 301);
  CHECK(*future.error == notice_error::too_old);
  const auto unreadable = g.send(*snap, notice_kind::win, g.substitute(other.nurl, "free"));
  CHECK(unreadable.status == 400);
  CHECK(*unreadable.error == notice_error::bad_request);
  const auto unsubstituted = g.send(*snap, notice_kind::win, other.nurl);
  CHECK(unsubstituted.status == 400);
  CHECK(account.wins() == 1);
  CHECK(account.spent_lifetime() == cost(2.0));
}

TEST_CASE("a loss releases the reservation and a win after it is a conflict", "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0, R"("budget": {"daily": 1.0})")});
  fixture f;
  const auto& bid = f.bid(*snap);
  const bidder::spend::account& account = *snap->campaigns[0].account;
  const auto loss = f.send(*snap, notice_kind::loss, f.substitute(bid.lurl, "3.00"));
  CHECK(loss.status == 204);  // a loss's price is the winner's: above ours is normal
  CHECK(account.reserved() == 0);
  CHECK(account.losses() == 1);
  const auto win = f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "1.00"));
  CHECK(win.status == 403);
  CHECK(*win.error == notice_error::conflict);
  CHECK(account.spent_lifetime() == 0);
}

TEST_CASE("with count_on BILL the win keeps the price reserved and the bill charges it",
          "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0, R"("budget": {"daily": 1.0, "count_on": "BILL"})")});
  fixture f;
  const auto& bid = f.bid(*snap);
  const bidder::spend::account& account = *snap->campaigns[0].account;
  CHECK(f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "1.50"), now_s + 10).status == 204);
  CHECK(account.spent_lifetime() == 0);
  CHECK(account.reserved() == cost(2.0));  // moved to the win time
  CHECK(account.wins() == 1);
  snap->spend->tick(now_s + 65);  // past the TTL from the bid, not from the win
  CHECK(account.reserved() == cost(2.0));
  CHECK(f.send(*snap, notice_kind::bill, f.substitute(bid.burl, "1.50"), now_s + 66).status == 204);
  CHECK(account.spent_lifetime() == cost(1.5));
  CHECK(account.reserved() == 0);
  CHECK(account.bills() == 1);

  SECTION("a bill without a win counts the win too") {
    fixture g;
    const auto& other = g.bid(*snap, now_s + 66);
    CHECK(g.send(*snap, notice_kind::bill, g.substitute(other.burl, "1.00"), now_s + 67).status ==
          204);
    CHECK(account.wins() == 2);
    CHECK(account.spent_lifetime() == cost(2.5));
    CHECK(account.reserved() == 0);
    CHECK(*g.send(*snap, notice_kind::win, g.substitute(other.nurl, "1.00"), now_s + 68).error ==
          notice_error::replay);
  }
}

TEST_CASE("a click redirects to the landing page of the signed creative and counts once",
          "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0)});
  fixture f;
  const auto& bid = f.bid(*snap);
  CHECK_THAT(std::string(bid.adm), !Catch::Contains("{{CLICK_URL}}"));
  const std::string click = f.substitute(click_url_of(std::string(bid.adm)));
  // A parameter trying to choose the target is ignored: the target comes from the snapshot.
  const auto r = f.send(*snap, notice_kind::click, click + "&landing=https%3A%2F%2Fevil.example");
  CHECK(r.status == 302);
  CHECK(r.redirect == "https://shop.example/landing?c=c1");
  const auto again = f.send(*snap, notice_kind::click, click);
  CHECK(again.status == 302);  // the user still gets there
  CHECK(*again.error == notice_error::replay);
  CHECK(snap->campaigns[0].account->clicks() == 1);
  const auto forged =
      f.send(*snap, notice_kind::click, click.substr(0, click.find("&sig=")) + "&sig=x");
  CHECK(forged.status == 403);
  CHECK(forged.redirect.empty());
}

TEST_CASE("a notice for a campaign no longer configured is 404 unknown_bid", "[engine][notice]") {
  auto ledger = std::make_shared<bidder::spend::ledger>(
      bidder::spend::ledger_options{.notice_table_slots = 4096, .frequency_table_slots = 4096});
  auto before = build({campaign_json("c1", 2.0)}, ledger);
  fixture f;
  const std::string nurl = f.substitute(f.bid(*before).nurl);
  auto after = build({campaign_json("c2", 2.0)}, ledger);  // a reload removed c1
  const auto r = f.send(*after, notice_kind::win, nurl);
  CHECK(r.status == 404);
  CHECK(*r.error == notice_error::unknown_bid);
  // Brought back, it keeps its account (and the notice now applies).
  auto back = build({campaign_json("c1", 2.0)}, ledger);
  CHECK(back->campaigns[0].account == before->campaigns[0].account);
  CHECK(f.send(*back, notice_kind::win, nurl).status == 204);
}

TEST_CASE("a frequency cap counts wins under every id of the user and caps each of them",
          "[engine][notice][frequency]") {
  auto snap = build({campaign_json("capped", 3.0, R"("frequency_caps": [{"max_impressions": 2,
      "period": "HOUR"}])"),
                     campaign_json("fallback", 1.0)});
  fixture f;  // the user has user.id "alice" and device.ifa "ifa-alice"
  for (int i = 0; i < 2; ++i) {
    const auto& bid = f.bid(*snap);
    REQUIRE(bid.cid == "capped");
    CHECK(f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "1.00")).status == 204);
  }
  CHECK(f.bid(*snap).cid == "fallback");  // two impressions this hour: capped

  SECTION("the same user seen under only one of the ids is capped too") {
    fixture ifa_only;
    ifa_only.request.user_id = {};
    CHECK(ifa_only.bid(*snap).cid == "fallback");
    fixture id_only;
    id_only.request.ifa = {};
    CHECK(id_only.bid(*snap).cid == "fallback");
  }
  SECTION("another user is not capped, nor is the user an hour later") {
    fixture bob;
    bob.request.user_id = "bob";
    bob.request.ifa = {};
    CHECK(bob.bid(*snap).cid == "capped");
    CHECK(f.bid(*snap, now_s + 3600).cid == "capped");
  }
  SECTION("a request without a usable id does not get the capped campaign") {
    fixture anonymous;
    anonymous.request.user_id = {};
    anonymous.request.ifa = {};
    CHECK(anonymous.bid(*snap).cid == "fallback");
    fixture coppa;
    coppa.request.user_id = "carol";
    coppa.request.coppa = true;
    CHECK(coppa.bid(*snap).cid == "fallback");
  }
}

namespace {

const std::string two_exchanges =
    R"("exchanges": [{"id": "nurl-x", "count_on": "WIN"}, {"id": "burl-x", "count_on": "BILL"}])";

}  // namespace

TEST_CASE("spend is counted on the notice the bid's exchange names, signed in the URL",
          "[engine][notice][exchange]") {
  auto snap =
      build({campaign_json("c1", 2.0, R"("budget": {"daily": 1.0})")}, nullptr, two_exchanges);
  REQUIRE(snap->exchanges.size() == 2);
  CHECK(snap->default_exchange == 0);
  const bidder::spend::account& account = *snap->campaigns[0].account;

  SECTION("an exchange counting on BILL: the win only counts, the bill charges") {
    fixture f;
    f.exchange = *snap->find_exchange("burl-x");
    const auto& bid = f.bid(*snap);
    CHECK_THAT(bid.nurl, Catch::Contains("&x=burl-x&"));
    CHECK(f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "1.50")).status == 204);
    CHECK(account.spent_lifetime() == 0);
    CHECK(account.reserved() == cost(2.0));
    CHECK(f.send(*snap, notice_kind::bill, f.substitute(bid.burl, "1.50")).status == 204);
    CHECK(account.spent_lifetime() == cost(1.5));
    CHECK(account.reserved() == 0);
  }
  SECTION("an exchange counting on WIN (here POST /bid, the default): the win charges") {
    fixture f;
    const auto& bid = f.bid(*snap);
    CHECK_THAT(bid.nurl, Catch::Contains("&x=nurl-x&"));
    CHECK(f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "1.50")).status == 204);
    CHECK(account.spent_lifetime() == cost(1.5));
    CHECK(f.send(*snap, notice_kind::bill, f.substitute(bid.burl, "1.50")).status == 204);
    CHECK(account.spent_lifetime() == cost(1.5));
  }
  SECTION("moving a bid to the other exchange breaks its signature") {
    fixture f;
    f.exchange = *snap->find_exchange("burl-x");
    std::string nurl = f.substitute(f.bid(*snap).nurl, "1.50");
    nurl.replace(nurl.find("x=burl-x"), 8, "x=nurl-x");
    const auto r = f.send(*snap, notice_kind::win, nurl);
    CHECK(r.status == 403);
    CHECK(*r.error == notice_error::bad_signature);
    CHECK(account.spent_lifetime() == 0);
  }
}

TEST_CASE("a campaign's budget.count_on overrides its exchange's", "[engine][notice][exchange]") {
  auto snap = build({campaign_json("c1", 2.0, R"("budget": {"daily": 1.0, "count_on": "WIN"})")},
                    nullptr, two_exchanges);
  fixture f;
  f.exchange = *snap->find_exchange("burl-x");
  const auto& bid = f.bid(*snap);
  CHECK(f.send(*snap, notice_kind::win, f.substitute(bid.nurl, "1.25")).status == 204);
  CHECK(snap->campaigns[0].account->spent_lifetime() == cost(1.25));
}

TEST_CASE("a notice of an exchange no longer configured is 404 and changes nothing",
          "[engine][notice][exchange]") {
  auto ledger = std::make_shared<bidder::spend::ledger>(
      bidder::spend::ledger_options{.notice_table_slots = 4096, .frequency_table_slots = 4096});
  auto before = build({campaign_json("c1", 2.0)}, ledger, two_exchanges);
  fixture f;
  f.exchange = *before->find_exchange("burl-x");
  const std::string nurl = f.substitute(f.bid(*before).nurl);
  auto after = build({campaign_json("c1", 2.0)}, ledger, R"("exchanges": [{"id": "nurl-x"}])");
  const auto r = f.send(*after, notice_kind::win, nurl);
  CHECK(r.status == 404);
  CHECK(*r.error == notice_error::unknown_bid);
  CHECK(after->campaigns[0].account->wins() == 0);
}

TEST_CASE("a campaign with targeting.exchanges bids only on those exchanges",
          "[engine][exchange]") {
  auto snap = build({campaign_json("only-burl", 3.0, R"("targeting": {"exchanges": ["burl-x"]})"),
                     campaign_json("anywhere", 1.0)},
                    nullptr, two_exchanges);
  fixture on_burl;
  on_burl.exchange = *snap->find_exchange("burl-x");
  CHECK(on_burl.bid(*snap).cid == "only-burl");
  fixture on_default;
  CHECK(on_default.bid(*snap).cid == "anywhere");
}

TEST_CASE("an encrypted ${AUCTION_PRICE} is charged at the bid price, so budgets still hold",
          "[engine][notice]") {
  auto snap = build({campaign_json("c1", 2.0)});
  fixture f;
  const auto& account = *snap->campaigns[0].account;
  CHECK(*f.send(*snap, notice_kind::win, f.substitute(f.bid(*snap).nurl, "free")).error ==
        notice_error::bad_request);
  // The shape of an exchange's encrypted price: 28 bytes (IV, price, signature), web-safe
  // base64 or padded base64.
  int wins = 0;
  for (const std::string encrypted :
       {"WEp8wQAAAABnFd5EkB2k1wJeFcAj-Z_JVOeGzA", "SjpvRwAB4kB7jEpgW5IA8p73ew9ic6VZpFsPnA=="}) {
    INFO(encrypted);
    const auto& bid = f.bid(*snap);  // 2.00 CPM
    const auto r = f.send(*snap, notice_kind::win, f.substitute(bid.nurl, encrypted));
    CHECK(r.status == 204);
    CHECK_FALSE(r.error);
    CHECK(r.priced_at_bid);
    ++wins;
    CHECK(account.wins() == static_cast<std::uint64_t>(wins));
    // 2.00 CPM: 0.002 per impression, charged although the clearing price is unknown.
    CHECK(account.spent_lifetime() == wins * bidder::spend::cost_of(money::from_units(2.0)));
    const auto again = f.send(*snap, notice_kind::win, f.substitute(bid.nurl, encrypted));
    CHECK(*again.error == notice_error::replay);  // counted once
  }
  const auto& clear = f.bid(*snap);
  const auto r = f.send(*snap, notice_kind::win, f.substitute(clear.nurl, "1.00"));
  CHECK(r.status == 204);
  CHECK_FALSE(r.priced_at_bid);
}

TEST_CASE(
    "key rotation: a notice signed with a retired but listed key verifies, a removed "
    "key's gets 403",
    "[engine][notice][keys]") {
  const std::string old_secret(40, 'o'), new_secret(40, 'n');
  auto snap = build({campaign_json("c1", 2.0)});
  // Bids made before the rotation, signed with the old key.
  fixture before(*bidder::notice::signer::from_keys({{"k1", old_secret}}, "k1"), 11);
  const std::string old_win = before.substitute(before.bid(*snap).nurl, "1.00");
  CHECK_THAT(old_win, Catch::Contains("&k=k1&"));
  const std::string old_win_2 = before.substitute(before.bid(*snap).nurl, "1.00");

  // During the rotation: k2 signs, k1 is still listed.
  fixture during(*bidder::notice::signer::from_keys({{"k2", new_secret}, {"k1", old_secret}}, "k2"),
                 12);
  const auto& second = during.bid(*snap);
  CHECK_THAT(second.nurl, Catch::Contains("&k=k2&"));
  CHECK(during.send(*snap, notice_kind::win, old_win).status == 204);
  CHECK(during.send(*snap, notice_kind::win, during.substitute(second.nurl, "1.00")).status == 204);

  // After it: k1 removed.
  fixture after(*bidder::notice::signer::from_keys({{"k2", new_secret}}, "k2"), 13);
  const auto r = after.send(*snap, notice_kind::win, old_win_2);
  CHECK(r.status == 403);
  CHECK(*r.error == notice_error::bad_signature);
  CHECK(snap->campaigns[0].account->wins() == 2);
}

TEST_CASE("a reload that changes an exchange's count_on between a win and its bill charges once",
          "[engine][notice][exchange]") {
  auto ledger = std::make_shared<bidder::spend::ledger>(
      bidder::spend::ledger_options{.notice_table_slots = 4096, .frequency_table_slots = 4096});
  const std::string on_win = R"("exchanges": [{"id": "x", "count_on": "WIN"}])";
  const std::string on_bill = R"("exchanges": [{"id": "x", "count_on": "BILL"}])";
  const auto campaign = campaign_json("c1", 2.0, R"("budget": {"daily": 1.0})");

  SECTION("WIN, then BILL: the win charged, the bill does not") {
    auto before = build({campaign}, ledger, on_win);
    fixture f;
    const auto& bid = f.bid(*before);
    CHECK(f.send(*before, notice_kind::win, f.substitute(bid.nurl, "1.50")).status == 204);
    auto after = build({campaign}, ledger, on_bill);
    CHECK(f.send(*after, notice_kind::bill, f.substitute(bid.burl, "1.50")).status == 204);
    const auto& account = *after->campaigns[0].account;
    CHECK(account.spent_lifetime() == cost(1.5));
    CHECK(account.reserved() == 0);
  }
  SECTION("BILL, then WIN: the win did not charge, the bill does") {
    auto before = build({campaign}, ledger, on_bill);
    fixture f;
    const auto& bid = f.bid(*before);
    CHECK(f.send(*before, notice_kind::win, f.substitute(bid.nurl, "1.50")).status == 204);
    CHECK(before->campaigns[0].account->spent_lifetime() == 0);
    auto after = build({campaign}, ledger, on_win);
    CHECK(f.send(*after, notice_kind::bill, f.substitute(bid.burl, "1.50")).status == 204);
    const auto& account = *after->campaigns[0].account;
    CHECK(account.spent_lifetime() == cost(1.5));
    CHECK(account.reserved() == 0);
  }
}
