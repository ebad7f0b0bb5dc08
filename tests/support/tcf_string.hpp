// File: tests/support/tcf_string.hpp
//
// Builds IAB TCF v2 consent strings field by field (the core segment, base64url), so each test
// makes exactly the string it needs: tests/privacy and the engine's GDPR cases.
//
//   bidder::test::tc_fields f;                  // purposes 1-4 consented, vendor 42 too
//   f.purposes_consent = {1, 2, 4};             // ... but not purpose 3
//   request.consent = storage = bidder::test::tc_string(f);
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace bidder::test {

/// Appends big-endian bit fields and encodes them as base64url without padding (the last
/// character is filled with zero bits, as the IAB encoders do).
class bit_writer {
 public:
  bit_writer& put(std::uint64_t value, unsigned width) {
    for (unsigned i = width; i-- > 0;) bits_.push_back(((value >> i) & 1u) ? '1' : '0');
    return *this;
  }
  std::size_t size() const { return bits_.size(); }
  std::string base64url() const {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    for (std::size_t i = 0; i < bits_.size(); i += 6) {
      unsigned v = 0;
      for (std::size_t j = i; j < i + 6; ++j) v = (v << 1) | (j < bits_.size() && bits_[j] == '1');
      out.push_back(kAlphabet[v]);
    }
    return out;
  }

 private:
  std::string bits_;
};

using id_range = std::pair<unsigned, unsigned>;  // inclusive; first == last for a single id

struct restriction {
  unsigned purpose_id = 0;
  unsigned type = 0;  // 0 not allowed, 1 require consent, 2 require legitimate interest
  std::vector<id_range> vendors;
};

/// The core-string fields these tests vary; everything else gets a plausible fixed value.
struct tc_fields {
  unsigned version = 2;
  std::vector<unsigned> purposes_consent = {1, 2, 3, 4, 7, 9, 10};
  std::vector<unsigned> purposes_li = {2, 7, 8, 9, 10};
  std::vector<unsigned> vendor_consents = {1, 5, 42, 99, 100, 101, 755};
  bool vendor_ranges = false;  // range encoding instead of a bitfield
  std::vector<unsigned> vendor_li = {5, 42};
  bool vendor_li_ranges = false;
  std::vector<restriction> restrictions;
  bool with_restrictions_section = true;
};

inline std::uint32_t purpose_bits(const std::vector<unsigned>& purposes) {
  std::uint32_t v = 0;
  for (const unsigned p : purposes) v |= 1u << (24 - p);
  return v;
}

/// Consecutive ids folded into ranges, as an encoder would.
inline std::vector<id_range> to_ranges(std::vector<unsigned> ids) {
  std::vector<id_range> out;
  for (const unsigned id : std::set<unsigned>(ids.begin(), ids.end())) {
    if (!out.empty() && out.back().second + 1 == id) {
      out.back().second = id;
    } else {
      out.emplace_back(id, id);
    }
  }
  return out;
}

inline void put_range_entries(bit_writer& w, const std::vector<id_range>& ranges) {
  w.put(ranges.size(), 12);  // NumEntries
  for (const auto& [first, last] : ranges) {
    w.put(first != last, 1).put(first, 16);  // IsARange, StartOrOnlyVendorId
    if (first != last) w.put(last, 16);      // EndVendorId
  }
}

/// Everything up to and including PublisherCC (the fixed-width part of the core string).
inline void put_header(bit_writer& w, const tc_fields& f) {
  w.put(f.version, 6)
      .put(16000000000ull, 36)  // Created (deciseconds)
      .put(16000000000ull, 36)  // LastUpdated
      .put(7, 12)               // CmpId
      .put(1, 12)               // CmpVersion
      .put(1, 6)                // ConsentScreen
      .put(4 * 64 + 13, 12)     // ConsentLanguage "EN"
      .put(150, 12)             // VendorListVersion
      .put(4, 6)                // TcfPolicyVersion (4 = TCF v2.2)
      .put(0, 1)                // IsServiceSpecific
      .put(0, 1)                // UseNonStandardTexts
      .put(0x800, 12)           // SpecialFeatureOptIns
      .put(purpose_bits(f.purposes_consent), 24)
      .put(purpose_bits(f.purposes_li), 24)
      .put(0, 1)              // PurposeOneTreatment
      .put(5 * 64 + 17, 12);  // PublisherCC "FR"
}

inline void put_vendor_section(bit_writer& w, const std::vector<unsigned>& ids, bool ranges) {
  unsigned max_id = 0;
  for (const unsigned id : ids) max_id = std::max(max_id, id);
  w.put(max_id, 16).put(ranges, 1);  // MaxVendorId, IsRangeEncoding
  if (ranges) {
    put_range_entries(w, to_ranges(ids));
  } else {
    const std::set<unsigned> set(ids.begin(), ids.end());
    for (unsigned id = 1; id <= max_id; ++id) w.put(set.count(id), 1);
  }
}

inline void put_restrictions(bit_writer& w, const std::vector<restriction>& restrictions) {
  w.put(restrictions.size(), 12);  // NumPubRestrictions
  for (const auto& r : restrictions) {
    w.put(r.purpose_id, 6).put(r.type, 2);
    put_range_entries(w, r.vendors);
  }
}

inline bit_writer core_bits(const tc_fields& f) {
  bit_writer w;
  put_header(w, f);
  put_vendor_section(w, f.vendor_consents, f.vendor_ranges);
  put_vendor_section(w, f.vendor_li, f.vendor_li_ranges);
  if (f.with_restrictions_section) put_restrictions(w, f.restrictions);
  return w;
}

inline std::string tc_string(const tc_fields& f) { return core_bits(f).base64url(); }

}  // namespace bidder::test
