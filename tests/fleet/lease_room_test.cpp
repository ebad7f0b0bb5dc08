// The pieces of fleet mode that need no Redis: an account's lease room on the bid path, and
// the --redis endpoint's syntax.
#include <catch2/catch.hpp>

#include "bidder/fleet/redis_client.hpp"
#include "bidder/spend/account.hpp"

namespace spend = bidder::spend;

TEST_CASE("a fleet account reserves only within its lease room, one process has no such limit",
          "[fleet][unit]") {
  spend::budget b;
  b.lifetime = spend::amount_from_units(100);
  const bidder::unix_seconds now = 1'800'000'000;
  const spend::amount bid = spend::amount_from_units(1);

  spend::account alone("c", 60);
  alone.tick(b, now);
  CHECK(alone.fleet_room() == spend::no_fleet_limit);
  CHECK(alone.try_reserve(b, bid, now));

  spend::account fleet("c", 60, 0);
  fleet.tick(b, now);
  CHECK_FALSE(fleet.try_reserve(b, bid, now));  // no lease yet
  CHECK(fleet.room(b, now) <= 0);
  fleet.add_fleet_room(2 * bid);
  CHECK(fleet.try_reserve(b, bid, now));
  CHECK(fleet.try_reserve(b, bid, now));
  CHECK_FALSE(fleet.try_reserve(b, bid, now));  // the lease is committed
  fleet.release(bid, now);
  CHECK(fleet.try_reserve(b, bid, now));
  // A charge of a bid issued here leaves the room until the next sync returns the lease.
  fleet.charge(bid, now);
  fleet.release(bid, now);
  fleet.add_fleet_room(-bid);
  CHECK_FALSE(fleet.try_reserve(b, bid, now));
  // An unlimited campaign ignores the fleet room.
  CHECK(fleet.try_reserve(spend::budget{}, bid, now));
}

TEST_CASE("the redis endpoint is host:port or unix:/path, and a bad one is named",
          "[fleet][unit]") {
  auto tcp = bidder::fleet::parse_redis_endpoint("10.0.0.5:6379");
  REQUIRE(tcp.has_value());
  CHECK(tcp->host == "10.0.0.5");
  CHECK(tcp->port == 6379);
  auto unix_socket = bidder::fleet::parse_redis_endpoint("unix:/run/redis.sock");
  REQUIRE(unix_socket.has_value());
  CHECK(unix_socket->unix_path == "/run/redis.sock");
  CHECK(unix_socket->text() == "unix:/run/redis.sock");
  for (const char* bad :
       {"", "redis", ":6379", "host:", "host:0", "host:70000", "host:63x", "unix:"}) {
    INFO(bad);
    auto r = bidder::fleet::parse_redis_endpoint(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("--redis"));
  }
}
