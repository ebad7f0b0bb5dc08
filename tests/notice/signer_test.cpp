#include "bidder/notice/signer.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::notice::bid_identity;
using bidder::notice::signer;

const std::string key(48, 'k');

bid_identity identity() {
  return {.request_id = "req-1",
          .imp_id = "imp-1",
          .bid_id = "feed-3-1",
          .campaign_id = "c1",
          .creative_id = "cr-1",
          .price_micros = 2'500'000,
          .currency = "USD",
          .issued_at = 1'750'000'000,
          .users = "00112233445566aa",
          .exchange = "x1",
          .key_id = "0"};
}

// This file's temporary directories.
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-notice") {}
};

}  // namespace

TEST_CASE("a signature verifies for the identity it signs, and is 22 base64url characters",
          "[notice][unit]") {
  auto s = signer::from_key(key);
  REQUIRE((s).has_value());
  auto mac = s->new_context();
  std::string sig;
  mac.sign(identity(), sig);
  CHECK(sig.size() == bidder::notice::signature_chars);
  for (char c : sig) {
    CHECK(((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_'));
  }
  CHECK(mac.verify(identity(), sig));
  // Deterministic: the same key and identity always give the same signature, on any context.
  auto other = s->new_context();
  std::string again;
  other.sign(identity(), again);
  CHECK(again == sig);
}

TEST_CASE("altering any signed field makes the signature fail", "[notice][unit]") {
  auto s = signer::from_key(key);
  REQUIRE((s).has_value());
  auto mac = s->new_context();
  std::string sig;
  mac.sign(identity(), sig);
  using field = void (*)(bid_identity&);
  const std::vector<std::pair<std::string, field>> tamperings = {
      {"request id", [](bid_identity& i) { i.request_id = "req-2"; }},
      {"imp id", [](bid_identity& i) { i.imp_id = "imp-2"; }},
      {"bid id", [](bid_identity& i) { i.bid_id = "feed-3-2"; }},
      {"campaign", [](bid_identity& i) { i.campaign_id = "c2"; }},
      {"creative", [](bid_identity& i) { i.creative_id = "cr-2"; }},
      {"price", [](bid_identity& i) { i.price_micros += 1; }},
      {"currency", [](bid_identity& i) { i.currency = "EUR"; }},
      {"issue time", [](bid_identity& i) { i.issued_at += 1; }},
      {"users", [](bid_identity& i) { i.users = "00112233445566ab"; }},
      {"users dropped", [](bid_identity& i) { i.users = ""; }},
      {"exchange", [](bid_identity& i) { i.exchange = "x2"; }},
      {"exchange dropped", [](bid_identity& i) { i.exchange = ""; }},
      {"key id", [](bid_identity& i) { i.key_id = "1"; }},
      // Moving bytes between adjacent fields keeps the concatenation but not the framing.
      {"field boundary",
       [](bid_identity& i) {
         i.request_id = "req-1i";
         i.imp_id = "mp-1";
       }},
  };
  for (const auto& [name, tamper] : tamperings) {
    INFO(name);
    bid_identity changed = identity();
    tamper(changed);
    CHECK_FALSE(mac.verify(changed, sig));
  }
}

TEST_CASE("a wrong, truncated or empty signature fails, and another key does not verify",
          "[notice][unit]") {
  auto s = signer::from_key(key);
  REQUIRE((s).has_value());
  auto mac = s->new_context();
  std::string sig;
  mac.sign(identity(), sig);
  std::string flipped = sig;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  CHECK_FALSE(mac.verify(identity(), flipped));
  CHECK_FALSE(mac.verify(identity(), sig.substr(0, 21)));
  CHECK_FALSE(mac.verify(identity(), sig + "A"));
  CHECK_FALSE(mac.verify(identity(), ""));

  auto other = signer::from_key(std::string(48, 'j'));
  REQUIRE((other).has_value());
  CHECK_FALSE(other->new_context().verify(identity(), sig));
  auto random_a = signer::random();
  auto random_b = signer::random();
  REQUIRE((random_a).has_value());
  REQUIRE((random_b).has_value());
  std::string sig_a;
  random_a->new_context().sign(identity(), sig_a);
  CHECK_FALSE(random_b->new_context().verify(identity(), sig_a));
}

TEST_CASE("keys come from a file, trimmed, and a short key or a missing file is refused",
          "[notice][unit]") {
  temp_dir dir;
  const fs::path path = dir.path / "notice.key";
  std::ofstream(path) << "  " << key << "\n";
  auto from_file = signer::from_file(path.string());
  INFO((from_file ? std::string() : from_file.error().message));
  REQUIRE((from_file).has_value());
  auto direct = signer::from_key(key);
  REQUIRE((direct).has_value());
  std::string a, b;
  from_file->new_context().sign(identity(), a);
  direct->new_context().sign(identity(), b);
  CHECK(a == b);
  CHECK(from_file->derive_secret("x") == direct->derive_secret("x"));
  CHECK(direct->derive_secret("x") != direct->derive_secret("y"));

  std::ofstream(dir.path / "short.key") << "too short\n";
  auto too_short = signer::from_file((dir.path / "short.key").string());
  REQUIRE_FALSE(too_short.has_value());
  CHECK(too_short.error().code == bidder::errc::invalid_config);
  CHECK_THAT(too_short.error().message, Catch::Contains("short.key"));
  CHECK_THAT(too_short.error().message, Catch::Contains("at least 32 bytes"));

  auto missing = signer::from_file((dir.path / "nope.key").string());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == bidder::errc::io_error);
}

TEST_CASE("a key ring signs with its signing key and verifies with any key it still holds",
          "[notice][unit]") {
  const std::string old_secret(40, 'o'), new_secret(40, 'n');
  auto before = signer::from_keys({{"2026-10", old_secret}}, "2026-10");
  REQUIRE(before.has_value());
  CHECK(before->signing_key_id() == "2026-10");
  bid_identity old_bid = identity();
  old_bid.key_id = "2026-10";
  std::string old_sig;
  before->new_context().sign(old_bid, old_sig);

  // Rotation: the new key signs, the old one is still listed, so the old bid verifies.
  auto during = signer::from_keys({{"2026-11", new_secret}, {"2026-10", old_secret}}, "2026-11");
  REQUIRE(during.has_value());
  CHECK(during->signing_key_id() == "2026-11");
  auto mac = during->new_context();
  CHECK(mac.verify(old_bid, old_sig));
  bid_identity new_bid = identity();
  new_bid.key_id = "2026-11";
  std::string new_sig;
  mac.sign(new_bid, new_sig);
  CHECK(mac.verify(new_bid, new_sig));
  CHECK(new_sig != old_sig);
  // Naming the other key of the ring does not make a signature verify.
  bid_identity relabelled = old_bid;
  relabelled.key_id = "2026-11";
  CHECK_FALSE(mac.verify(relabelled, old_sig));

  // The old key removed: its bids no longer verify; an unknown key id never does.
  auto after = signer::from_keys({{"2026-11", new_secret}}, "2026-11");
  REQUIRE(after.has_value());
  CHECK_FALSE(after->new_context().verify(old_bid, old_sig));
  CHECK(after->new_context().verify(new_bid, new_sig));
  bid_identity unknown = new_bid;
  unknown.key_id = "";
  CHECK_FALSE(after->new_context().verify(unknown, new_sig));
}

TEST_CASE("a key ring refuses a short key, a duplicate id and an unknown signing key",
          "[notice][unit]") {
  const std::string ok(40, 'a');
  auto short_key = signer::from_keys({{"a", ok}, {"b", "short"}}, "a");
  REQUIRE_FALSE(short_key.has_value());
  CHECK_THAT(short_key.error().message, Catch::Contains("\"b\"") && Catch::Contains("at least"));
  auto duplicate = signer::from_keys({{"a", ok}, {"a", ok}}, "a");
  REQUIRE_FALSE(duplicate.has_value());
  CHECK_THAT(duplicate.error().message, Catch::Contains("duplicate"));
  auto unknown = signer::from_keys({{"a", ok}}, "z");
  REQUIRE_FALSE(unknown.has_value());
  CHECK_THAT(unknown.error().message, Catch::Contains("\"z\""));
}

// Known answers, computed outside the bidder (Python's hmac over the v3 message layout), so a
// change of the HMAC's implementation cannot silently change what notices in flight verify as.
TEST_CASE("signatures match HMAC-SHA256 of the v3 message computed independently",
          "[notice][unit]") {
  // The signature of `id` under `secret`, checked to verify too.
  auto signature = [](const std::string& secret, const bid_identity& id) {
    auto s = signer::from_key(secret);
    REQUIRE(s.has_value());
    auto mac = s->new_context();
    std::string sig;
    mac.sign(id, sig);
    CHECK(mac.verify(id, sig));
    return sig;
  };
  bid_identity id = identity();
  SECTION("a win with user hashes, 48-byte key") {
    id.purpose = 0;
    CHECK(signature(key, id) == "WkOJzCXGDGSoAYyW5Z6tqQ");
  }
  SECTION("a shaded loss without users") {
    id.purpose = 2;
    id.users = {};
    id.shading = "seg.1.2500000";
    CHECK(signature(key, id) == "cmM8C1b20syqpp55feznSg");
  }
  SECTION("a key longer than SHA-256's block is hashed first (RFC 2104)") {
    std::string long_key(100, '\0');
    for (std::size_t i = 0; i < long_key.size(); ++i) long_key[i] = static_cast<char>(i);
    id.purpose = 1;
    CHECK(signature(long_key, id) == "GOg8J-n1BTkXeON42A0tcw");
  }
}
