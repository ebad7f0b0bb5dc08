// File: tests/privacy/tcf_consent_test.cpp
//
// Each case builds exactly the TC string it needs with a small bit writer (field by field, as the
// IAB core-string table lists them), plus real strings from public test suites to check the field
// widths against real encoders.
#include "bidder/privacy/tcf_consent.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/tcf_string.hpp"

namespace {

using bidder::privacy::check_tcf_consent;
using bidder::privacy::tcf_verdict;
using namespace bidder::test;  // the TC string builder (tests/support/tcf_string.hpp)

constexpr std::uint16_t kVendor = 42;  // in the default vendor_consents

}  // namespace

TEST_CASE("to_string names every verdict", "[privacy][unit]") {
  using bidder::privacy::to_string;
  CHECK(to_string(tcf_verdict::allowed) == "allowed");
  CHECK(to_string(tcf_verdict::malformed) == "malformed");
  CHECK(to_string(tcf_verdict::purposes_missing) == "purposes_missing");
  CHECK(to_string(tcf_verdict::vendor_missing) == "vendor_missing");
}

TEST_CASE("purposes 1, 3 and 4 with vendor consent are allowed in bitfield and range encoding",
          "[privacy][unit]") {
  tc_fields f;
  const bool ranges = GENERATE(false, true);
  f.vendor_ranges = ranges;
  f.vendor_li_ranges = ranges;
  const std::string tc = tc_string(f);
  CAPTURE(ranges, tc);
  for (const unsigned v : f.vendor_consents) {
    CHECK(check_tcf_consent(tc, static_cast<std::uint16_t>(v)) == tcf_verdict::allowed);
  }
  CHECK(check_tcf_consent(tc, 0) == tcf_verdict::allowed);
}

TEST_CASE("a missing consent for purpose 1, 3 or 4 is purposes_missing", "[privacy][unit]") {
  const unsigned missing = GENERATE(1u, 3u, 4u);
  tc_fields f;
  f.purposes_consent = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  f.purposes_consent.erase(f.purposes_consent.begin() + (missing - 1));
  CAPTURE(missing);
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::purposes_missing);
  CHECK(check_tcf_consent(tc_string(f), 0) == tcf_verdict::purposes_missing);
}

TEST_CASE("legitimate interest for purposes 1, 3 and 4 does not replace consent",
          "[privacy][unit]") {
  tc_fields f;
  f.purposes_consent = {2, 7};
  f.purposes_li = {1, 2, 3, 4, 7};
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::purposes_missing);
}

TEST_CASE("purposes 2 and 5-24 are not needed", "[privacy][unit]") {
  tc_fields f;
  f.purposes_consent = {1, 3, 4};
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::allowed);
}

TEST_CASE("a vendor without its consent bit is vendor_missing, in bitfields and in ranges",
          "[privacy][unit]") {
  tc_fields f;
  f.vendor_ranges = GENERATE(false, true);
  f.vendor_li = {2, 3, 4};  // vendor LI does not count as consent
  const std::string tc = tc_string(f);
  CAPTURE(f.vendor_ranges, tc);
  CHECK(check_tcf_consent(tc, 2) == tcf_verdict::vendor_missing);    // between 1 and 5
  CHECK(check_tcf_consent(tc, 41) == tcf_verdict::vendor_missing);   // just before 42
  CHECK(check_tcf_consent(tc, 43) == tcf_verdict::vendor_missing);   // just after 42
  CHECK(check_tcf_consent(tc, 102) == tcf_verdict::vendor_missing);  // after 99-101
  CHECK(check_tcf_consent(tc, 756) == tcf_verdict::vendor_missing);  // above MaxVendorId
  CHECK(check_tcf_consent(tc, 65535) == tcf_verdict::vendor_missing);
  CHECK(check_tcf_consent(tc, 100) == tcf_verdict::allowed);  // inside the range 99-101
}

TEST_CASE("an empty vendor consent section refuses every vendor", "[privacy][unit]") {
  tc_fields f;
  f.vendor_consents = {};
  f.vendor_ranges = GENERATE(false, true);
  CHECK(check_tcf_consent(tc_string(f), 1) == tcf_verdict::vendor_missing);
  CHECK(check_tcf_consent(tc_string(f), 0) == tcf_verdict::allowed);
}

TEST_CASE("vendor_id 0 skips the vendor check", "[privacy][unit]") {
  tc_fields f;
  f.vendor_consents = {7};
  CHECK(check_tcf_consent(tc_string(f), 0) == tcf_verdict::allowed);
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::vendor_missing);
}

TEST_CASE("missing purposes win over a missing vendor", "[privacy][unit]") {
  tc_fields f;
  f.purposes_consent = {1, 3};
  CHECK(check_tcf_consent(tc_string(f), 7) == tcf_verdict::purposes_missing);
}

TEST_CASE("a not-allowed restriction on purpose 3 for our vendor is purposes_missing",
          "[privacy][unit]") {
  tc_fields f;
  f.restrictions = {{2, 0, {{1, 1}}}, {3, 0, {{kVendor, kVendor}}}};
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::purposes_missing);
  CHECK(check_tcf_consent(tc_string(f), 5) == tcf_verdict::allowed);  // another vendor
  CHECK(check_tcf_consent(tc_string(f), 0) == tcf_verdict::allowed);  // no vendor to restrict

  f.restrictions = {{3, 0, {{1, 5}, {40, 50}}}};  // covered by a range
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::purposes_missing);
  CHECK(check_tcf_consent(tc_string(f), 99) == tcf_verdict::allowed);
}

TEST_CASE("publisher restriction types act per the consent-only policy", "[privacy][unit]") {
  struct row {
    unsigned purpose_id, type;
    tcf_verdict expected;
  };
  const auto r =
      GENERATE(row{1, 0, tcf_verdict::purposes_missing},  // not allowed
               row{3, 0, tcf_verdict::purposes_missing}, row{4, 0, tcf_verdict::purposes_missing},
               row{2, 0, tcf_verdict::allowed},  // a purpose we do not use
               row{7, 0, tcf_verdict::allowed},
               row{1, 1, tcf_verdict::allowed},  // require consent: we do anyway
               row{3, 1, tcf_verdict::allowed}, row{4, 1, tcf_verdict::allowed},
               row{3, 2, tcf_verdict::purposes_missing},  // require LI: no consent
               row{4, 2, tcf_verdict::purposes_missing},
               row{1, 2, tcf_verdict::allowed},   // purpose 1 cannot be flexible
               row{3, 3, tcf_verdict::allowed});  // undefined type
  tc_fields f;
  f.restrictions = {{r.purpose_id, r.type, {{kVendor, kVendor}}}};
  CAPTURE(r.purpose_id, r.type);
  CHECK(check_tcf_consent(tc_string(f), kVendor) == r.expected);
}

TEST_CASE("a restriction applies however many restrictions come before it", "[privacy][unit]") {
  tc_fields f;
  for (unsigned p = 1; p <= 10; ++p) f.restrictions.push_back({p, 1, {{1, 1000}}});
  f.restrictions.push_back({4, 0, {{10, 20}, {kVendor, kVendor}, {600, 700}}});
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::purposes_missing);
  CHECK(check_tcf_consent(tc_string(f), 5) == tcf_verdict::allowed);
}

TEST_CASE("a version other than 2 is malformed", "[privacy][unit]") {
  tc_fields f;
  f.version = GENERATE(0u, 1u, 3u, 63u);
  CAPTURE(f.version);
  CHECK(check_tcf_consent(tc_string(f), kVendor) == tcf_verdict::malformed);
  // A real TCF v1.1 string (from the IAB v2 spec's OOB examples): version 1.
  CHECK(check_tcf_consent("BObdrPUOevsguAfDqFENCNAAAAAmeAAA", 0) == tcf_verdict::malformed);
}

TEST_CASE("every prefix of a valid string is malformed until all its fields are present",
          "[privacy][unit]") {
  tc_fields f;
  f.vendor_ranges = GENERATE(false, true);
  f.restrictions = {{3, 0, {{1, 5}, {kVendor, kVendor}}}, {2, 1, {{7, 9}}}};
  const bit_writer bits = core_bits(f);
  const std::string tc = bits.base64url();
  for (const std::uint16_t vendor : {std::uint16_t{0}, kVendor, std::uint16_t{5}}) {
    const tcf_verdict full = check_tcf_consent(tc, vendor);
    REQUIRE(full != tcf_verdict::malformed);
    for (std::size_t len = 0; len <= tc.size(); ++len) {
      const bool complete = len * 6 >= bits.size();
      CAPTURE(f.vendor_ranges, vendor, len);
      CHECK(check_tcf_consent(tc.substr(0, len), vendor) ==
            (complete ? full : tcf_verdict::malformed));
    }
  }
}

TEST_CASE("a core string without the publisher restrictions section is malformed",
          "[privacy][unit]") {
  tc_fields f;
  f.with_restrictions_section = false;
  f.vendor_li_ranges = GENERATE(false, true);
  const bit_writer bits = core_bits(f);
  REQUIRE(bits.base64url().size() * 6 - bits.size() < 12);  // padding cannot pass for the count
  CHECK(check_tcf_consent(bits.base64url(), kVendor) == tcf_verdict::malformed);
  CHECK(check_tcf_consent(bits.base64url(), 0) == tcf_verdict::malformed);
}

TEST_CASE("characters outside base64 are malformed", "[privacy][unit]") {
  const std::string tc = tc_string(tc_fields{});
  REQUIRE(check_tcf_consent(tc, kVendor) == tcf_verdict::allowed);
  for (const char bad : {'!', ' ', '*', '~', '\0', '\n', '=', static_cast<char>(0xc3)}) {
    for (const std::size_t at : {std::size_t{0}, std::size_t{10}, tc.size() - 1}) {
      std::string s = tc;
      s[at] = bad;
      CAPTURE(static_cast<int>(bad), at);
      CHECK(check_tcf_consent(s, kVendor) == tcf_verdict::malformed);
    }
  }
  CHECK(check_tcf_consent("", kVendor) == tcf_verdict::malformed);
  CHECK(check_tcf_consent(".", kVendor) == tcf_verdict::malformed);
  CHECK(check_tcf_consent("." + tc, kVendor) == tcf_verdict::malformed);  // empty core segment
  CHECK(check_tcf_consent(" " + tc, kVendor) == tcf_verdict::malformed);
  CHECK(check_tcf_consent(tc + "===", kVendor) == tcf_verdict::malformed);  // not padding
}

TEST_CASE("standard base64 characters and '=' padding are accepted", "[privacy][unit]") {
  tc_fields f;
  f.purposes_consent = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  f.vendor_consents = {};
  for (unsigned v = 1; v <= 300; v += (v % 7 == 0) ? 2 : 1) f.vendor_consents.push_back(v);
  std::string tc = tc_string(f);
  REQUIRE(tc.find('_') != std::string::npos);
  REQUIRE(tc.find('-') != std::string::npos);
  const tcf_verdict expected = check_tcf_consent(tc, 3);
  REQUIRE(expected == tcf_verdict::allowed);
  REQUIRE(check_tcf_consent(tc, 15) == tcf_verdict::vendor_missing);  // skipped

  std::string standard = tc;
  for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  CHECK(check_tcf_consent(standard, 3) == tcf_verdict::allowed);
  CHECK(check_tcf_consent(standard, 15) == tcf_verdict::vendor_missing);
  CHECK(check_tcf_consent(standard + "=", 3) == tcf_verdict::allowed);
  CHECK(check_tcf_consent(tc + "==", 3) == tcf_verdict::allowed);
  CHECK(check_tcf_consent(tc + "==.IAAA", 3) == tcf_verdict::allowed);
}

TEST_CASE("segments after the first '.' are ignored", "[privacy][unit]") {
  tc_fields f;
  const std::string tc = tc_string(f);
  for (const std::string tail : {".", ".IAAA", ".YAAAAAAAAAAA.QAAA.IAAA", ".not base64 at all!"}) {
    CAPTURE(tail);
    CHECK(check_tcf_consent(tc + tail, kVendor) == tcf_verdict::allowed);
    CHECK(check_tcf_consent(tc + tail, 7) == tcf_verdict::vendor_missing);
  }
  f.purposes_consent = {1};
  CHECK(check_tcf_consent(tc_string(f) + ".IAAA", kVendor) == tcf_verdict::purposes_missing);
}

TEST_CASE("a huge NumEntries or NumPubRestrictions with few bits is malformed", "[privacy][unit]") {
  const tc_fields f;
  {  // vendor consent ranges: NumEntries 4095, then one entry's worth of bits
    bit_writer w;
    put_header(w, f);
    w.put(755, 16).put(1, 1).put(4095, 12).put(0, 1).put(kVendor, 16).put(0, 12);
    CHECK(check_tcf_consent(w.base64url(), kVendor) == tcf_verdict::malformed);
  }
  {  // vendor LI ranges
    bit_writer w;
    put_header(w, f);
    put_vendor_section(w, f.vendor_consents, false);
    w.put(100, 16).put(1, 1).put(4095, 12).put(0, 40);
    CHECK(check_tcf_consent(w.base64url(), kVendor) == tcf_verdict::malformed);
  }
  {  // publisher restrictions
    bit_writer w;
    put_header(w, f);
    put_vendor_section(w, f.vendor_consents, false);
    put_vendor_section(w, f.vendor_li, false);
    w.put(4095, 12).put(3, 6).put(0, 2).put(0, 12);
    CHECK(check_tcf_consent(w.base64url(), kVendor) == tcf_verdict::malformed);
  }
  {  // one restriction whose NumEntries is 4095
    bit_writer w;
    put_header(w, f);
    put_vendor_section(w, f.vendor_consents, false);
    put_vendor_section(w, f.vendor_li, false);
    w.put(1, 12).put(3, 6).put(0, 2).put(4095, 12).put(0, 1).put(kVendor, 16);
    CHECK(check_tcf_consent(w.base64url(), kVendor) == tcf_verdict::malformed);
  }
  {  // a bitfield whose MaxVendorId is far past the end
    bit_writer w;
    put_header(w, f);
    w.put(60000, 16).put(0, 1).put(0xffffffff, 32);
    CHECK(check_tcf_consent(w.base64url(), 1) == tcf_verdict::malformed);
  }
}

TEST_CASE("a range ending before it starts, or above MaxVendorId, is malformed",
          "[privacy][unit]") {
  const tc_fields f;
  const auto with_consent_entries = [&](unsigned max_id, const std::vector<id_range>& entries) {
    bit_writer w;
    put_header(w, f);
    w.put(max_id, 16).put(1, 1);
    put_range_entries(w, entries);
    put_vendor_section(w, {}, false);
    put_restrictions(w, {});
    return w.base64url();
  };
  CHECK(check_tcf_consent(with_consent_entries(100, {{40, 50}}), kVendor) == tcf_verdict::allowed);
  CHECK(check_tcf_consent(with_consent_entries(100, {{50, 40}}), kVendor) ==
        tcf_verdict::malformed);
  CHECK(check_tcf_consent(with_consent_entries(100, {{40, 101}}), kVendor) ==
        tcf_verdict::malformed);
  CHECK(check_tcf_consent(with_consent_entries(100, {{101, 101}}), kVendor) ==
        tcf_verdict::malformed);
  CHECK(check_tcf_consent(with_consent_entries(42, {{42, 42}}), kVendor) == tcf_verdict::allowed);

  tc_fields g;  // the same checks in the vendor LI section and in a restriction
  g.vendor_li = {};
  g.restrictions = {{3, 0, {{50, 40}}}};
  CHECK(check_tcf_consent(tc_string(g), kVendor) == tcf_verdict::malformed);
  g.restrictions = {};
  bit_writer w;
  put_header(w, g);
  put_vendor_section(w, g.vendor_consents, false);
  w.put(10, 16).put(1, 1);
  put_range_entries(w, {{5, 11}});
  put_restrictions(w, {});
  CHECK(check_tcf_consent(w.base64url(), kVendor) == tcf_verdict::malformed);
}

TEST_CASE("random corruptions of valid strings never crash", "[privacy][unit]") {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.!";
  tc_fields f;
  f.vendor_ranges = true;
  f.restrictions = {{3, 0, {{1, 5}, {kVendor, kVendor}}}, {2, 1, {{7, 9}}}};
  const std::string base = tc_string(f);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pos(0, base.size() - 1);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(kChars) - 2);
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = base;
    for (int k = 0; k < 1 + i % 4; ++k) s[pos(rng)] = kChars[pick(rng)];
    const tcf_verdict v = check_tcf_consent(s.substr(0, pos(rng) + 1), kVendor);
    checked += v == tcf_verdict::allowed || v == tcf_verdict::malformed ||
               v == tcf_verdict::purposes_missing || v == tcf_verdict::vendor_missing;
  }
  CHECK(checked == 20000);
}

// Real TC strings with their decoded facts asserted by public test suites; they pin the field
// widths to real encoders rather than to this file's writer.
//
// IABTechLab/iabgpp-java, iabgpp-encoder/src/test/java/com/iab/gpp/encoder/section/
// TcfEuV2Test.java, testDecode6: purposes 1-10 consented; vendor consents (bitfield) exactly
// {2, 6, 8, 12, 18, 23, 25, 37, 42}; vendor LI {2, 6, 8, 12, 18, 23, 37, 42} (so vendor 25 has
// consent without LI). Followed by a publisher TC segment.
TEST_CASE("a real TC string with purposes 1-10 allows exactly its consented vendors",
          "[privacy][unit]") {
  const std::string tc =
      "COv_eg6Ov_eg6AOADBENAaCgAP_AAH_AACiQAVEUQQoAIQAqIoghAAQgAA.YAAAAAAAAAAAAAAAAAA";
  const std::set<unsigned> consented = {2, 6, 8, 12, 18, 23, 25, 37, 42};
  CHECK(check_tcf_consent(tc, 0) == tcf_verdict::allowed);
  std::set<unsigned> allowed;
  for (unsigned v = 1; v <= 65535; ++v) {
    const tcf_verdict verdict = check_tcf_consent(tc, static_cast<std::uint16_t>(v));
    if (verdict == tcf_verdict::allowed) {
      allowed.insert(v);
    } else if (verdict != tcf_verdict::vendor_missing) {
      FAIL("vendor " << v << ": " << bidder::privacy::to_string(verdict));
    }
  }
  CHECK(allowed == consented);
  // Every prefix is malformed or the full string's verdict, never a crash.
  for (std::size_t len = 0; len < tc.size(); ++len) {
    const tcf_verdict v = check_tcf_consent(tc.substr(0, len), 25);
    CHECK((v == tcf_verdict::malformed || v == tcf_verdict::allowed));
  }
}

// Same file, testDecode4 (a 458-character string from CMP 14): purposes 1-10 consented, 772
// vendors with consent (bitfield, MaxVendorId 1166). Its publisher restrictions are type 1
// "require consent" on purposes 3, 4 and 5 for vendors 1-1166, which must change nothing.
TEST_CASE("a real TC string with require-consent restrictions allows its 772 vendors",
          "[privacy][unit]") {
  const std::string tc =
      "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF3"
      "6tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3"
      "d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGA"
      "Dg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwI"
      "CIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAA"
      "EEjgA";
  CHECK(check_tcf_consent(tc, 0) == tcf_verdict::allowed);
  int allowed = 0;
  int vendor_missing = 0;
  for (unsigned v = 1; v <= 65535; ++v) {
    const tcf_verdict verdict = check_tcf_consent(tc, static_cast<std::uint16_t>(v));
    allowed += verdict == tcf_verdict::allowed;
    vendor_missing += verdict == tcf_verdict::vendor_missing;
  }
  CHECK(allowed == 772);
  CHECK(vendor_missing == 65535 - 772);
}

// Same file, testDecode7: purposes consent {1} only; vendor consents range-encoded {1, 2, 3,
// 755}; one publisher restriction, purpose 1 type 0 for vendor 10. Well-formed, so every vendor
// gets purposes_missing (not malformed): this checks range and restriction parsing widths.
// And InteractiveAdvertisingBureau/iabtcf-java, iabtcf-decoder/src/test/java/com/iabtcf/decoder/
// TCStringV2Test.java: testConstructConsentsFromBitFields (purposes 3-9, no purpose 1) and
// testRange (no purposes; vendor consents ranges 702-703).
TEST_CASE("real TC strings without purposes 1, 3 and 4 are purposes_missing", "[privacy][unit]") {
  for (const char* tc :
       {"COoC-kUOoC-kUAHABAENAwCoAIAAAELAAAwIF5wAoAAgAGAvMACX_ABBAAQAFA",
        "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAA"
        "CAAAABAAA",
        "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAYFfAV-BVkAGBVYFWAAA.IFoEUQQgAIQwgIw"
        "QABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQ"
        "AAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw"}) {
    CAPTURE(tc);
    for (const std::uint16_t vendor : {0, 1, 10, 23, 702, 755, 65535}) {
      CAPTURE(vendor);
      CHECK(check_tcf_consent(tc, vendor) == tcf_verdict::purposes_missing);
    }
  }
}
