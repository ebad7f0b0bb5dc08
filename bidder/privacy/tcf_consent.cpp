// File: bidder/privacy/tcf_consent.cpp
//
// TCF v2 core-string check. Field widths are from the IAB spec's "The Core String" table (and
// agree with iabtcf-es BitLength.ts and iabtcf-java FieldDefs.java). Bits are numbered left to
// right and fields are big-endian; each base64 character carries 6 bits, most significant first.
#include "bidder/privacy/tcf_consent.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bidder::privacy {
namespace {

// --- Core segment layout -------------------------------------------------------------------

constexpr unsigned kVersionBits = 6;
constexpr std::uint32_t kTcfVersion = 2;
// Created 36, LastUpdated 36, CmpId 12, CmpVersion 12, ConsentScreen 6, ConsentLanguage 12,
// VendorListVersion 12, TcfPolicyVersion 6, IsServiceSpecific 1, UseNonStandardTexts 1,
// SpecialFeatureOptIns 12: nothing here matters to the verdict.
constexpr std::size_t kMetadataBits = 36 + 36 + 12 + 12 + 6 + 12 + 12 + 6 + 1 + 1 + 12;
constexpr unsigned kPurposesConsentBits = 24;  // bit i-1 (from the left) = purpose i
// PurposesLITransparency 24, PurposeOneTreatment 1, PublisherCC 12.
constexpr std::size_t kAfterPurposesBits = 24 + 1 + 12;

// Vendor sections (consent, legitimate interest) and their range entries.
constexpr unsigned kMaxVendorIdBits = 16;
constexpr unsigned kVendorIdBits = 16;
constexpr unsigned kNumEntriesBits = 12;
constexpr std::size_t kMinRangeEntryBits = 1 + kVendorIdBits;  // IsARange 0 + StartOrOnlyVendorId

// Publisher restrictions.
constexpr unsigned kNumPubRestrictionsBits = 12;
constexpr unsigned kPurposeIdBits = 6;
constexpr unsigned kRestrictionTypeBits = 2;
constexpr std::size_t kMinPubRestrictionBits =
    kPurposeIdBits + kRestrictionTypeBits + kNumEntriesBits;  // with NumEntries 0

constexpr std::uint32_t kRestrictionNotAllowed = 0;
constexpr std::uint32_t kRestrictionRequireLegitimateInterest = 2;

// --- Base64 -------------------------------------------------------------------------------

constexpr std::uint8_t kNotBase64 = 0xff;

/// 6-bit value of each byte: base64url plus standard base64's '+' and '/'; kNotBase64 otherwise.
constexpr std::array<std::uint8_t, 256> make_sextets() noexcept {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kNotBase64;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<std::uint8_t>(i);
    t['a' + i] = static_cast<std::uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<std::uint8_t>(52 + i);
  t['-'] = t['+'] = 62;
  t['_'] = t['/'] = 63;
  return t;
}
constexpr std::array<std::uint8_t, 256> kSextet = make_sextets();

std::uint8_t sextet(char c) noexcept { return kSextet[static_cast<unsigned char>(c)]; }

/// Reads big-endian bit fields out of base64 text without decoding it to bytes first. The text
/// must have been checked to hold only base64 characters. Every read is bounds-checked: a read
/// past the end fails and the caller reports malformed.
class bit_reader {
 public:
  explicit bit_reader(std::string_view chars) noexcept : chars_(chars), end_(chars.size() * 6) {}

  std::size_t position() const noexcept { return pos_; }
  std::size_t bits_left() const noexcept { return end_ - pos_; }

  /// Reads `n` <= 32 bits into `out`; false (position unchanged) when fewer than `n` are left.
  bool read(unsigned n, std::uint32_t& out) noexcept {
    if (n > bits_left()) return false;
    std::uint32_t v = 0;
    while (n > 0) {  // a whole character's remaining bits per step, not one bit at a time
      const unsigned left_in_char = 6 - static_cast<unsigned>(pos_ % 6);
      const unsigned take = n < left_in_char ? n : left_in_char;
      const unsigned bits = sextet(chars_[pos_ / 6]) >> (left_in_char - take);
      v = (v << take) | (bits & ((1u << take) - 1));
      pos_ += take;
      n -= take;
    }
    out = v;
    return true;
  }

  bool skip(std::size_t n) noexcept {
    if (n > bits_left()) return false;
    pos_ += n;
    return true;
  }

  /// The bit at absolute position `at`, which must be < the end.
  bool bit_at(std::size_t at) const noexcept {
    return (sextet(chars_[at / 6]) >> (5 - at % 6)) & 1u;
  }

 private:
  std::string_view chars_;
  std::size_t end_;
  std::size_t pos_ = 0;
};

/// The core segment without its '=' padding, or an empty view when it is not base64.
std::string_view core_segment(std::string_view tc) noexcept {
  std::string_view core = tc.substr(0, tc.find('.'));
  // Standard base64 pads with at most two '='; a third is not padding, and fails below.
  for (int i = 0; i < 2 && !core.empty() && core.back() == '='; ++i) core.remove_suffix(1);
  for (const char c : core) {
    if (sextet(c) == kNotBase64) return {};
  }
  return core;
}

// --- Sections -----------------------------------------------------------------------------

/// Reads NumEntries then its range entries (IsARange, StartOrOnlyVendorId, EndVendorId if a
/// range). Sets `covers_vendor` when a nonzero `vendor_id` falls in an entry. False (malformed)
/// when the entries run past the end, a range ends before it starts, or an id exceeds `max_id`.
bool read_range_entries(bit_reader& r, std::uint32_t max_id, std::uint16_t vendor_id,
                        bool& covers_vendor) noexcept {
  std::uint32_t num_entries = 0;
  if (!r.read(kNumEntriesBits, num_entries)) return false;
  // A count the remaining bits cannot hold is refused before looping, so a hostile 4095 costs
  // nothing; past this check the loop is bounded by the string's length anyway.
  if (num_entries * kMinRangeEntryBits > r.bits_left()) return false;
  for (std::uint32_t i = 0; i < num_entries; ++i) {
    std::uint32_t is_range = 0;
    std::uint32_t first = 0;
    if (!r.read(1, is_range) || !r.read(kVendorIdBits, first)) return false;
    std::uint32_t last = first;
    if (is_range != 0 && !r.read(kVendorIdBits, last)) return false;
    if (last < first || last > max_id) return false;
    if (vendor_id != 0 && first <= vendor_id && vendor_id <= last) covers_vendor = true;
  }
  return true;
}

/// Reads a vendor section: MaxVendorId, IsRangeEncoding, then a MaxVendorId-bit bitfield (bit
/// i-1 = vendor i) or range entries. Sets `has_vendor` when a nonzero `vendor_id` is in it.
bool read_vendor_section(bit_reader& r, std::uint16_t vendor_id, bool& has_vendor) noexcept {
  std::uint32_t max_vendor_id = 0;
  std::uint32_t is_range_encoding = 0;
  if (!r.read(kMaxVendorIdBits, max_vendor_id) || !r.read(1, is_range_encoding)) return false;
  if (is_range_encoding != 0) return read_range_entries(r, max_vendor_id, vendor_id, has_vendor);
  if (max_vendor_id > r.bits_left()) return false;
  if (vendor_id != 0 && vendor_id <= max_vendor_id) {
    has_vendor = r.bit_at(r.position() + vendor_id - 1);
  }
  return r.skip(max_vendor_id);
}

/// Whether a restriction of `type` on `purpose_id` stops the vendor relying on consent for
/// purposes 1, 3 and 4 (see the policy in the header).
bool restriction_forbids_consent(std::uint32_t purpose_id, std::uint32_t type) noexcept {
  if (type == kRestrictionNotAllowed) return purpose_id == 1 || purpose_id == 3 || purpose_id == 4;
  if (type == kRestrictionRequireLegitimateInterest) return purpose_id == 3 || purpose_id == 4;
  return false;
}

/// Reads the Publisher Restrictions section (required, see the header). Sets `forbidden` when a
/// restriction covering a nonzero `vendor_id` forbids consent for purpose 1, 3 or 4.
bool read_publisher_restrictions(bit_reader& r, std::uint16_t vendor_id, bool& forbidden) noexcept {
  std::uint32_t num_restrictions = 0;
  if (!r.read(kNumPubRestrictionsBits, num_restrictions)) return false;
  if (num_restrictions * kMinPubRestrictionBits > r.bits_left()) return false;
  for (std::uint32_t i = 0; i < num_restrictions; ++i) {
    std::uint32_t purpose_id = 0;
    std::uint32_t type = 0;
    if (!r.read(kPurposeIdBits, purpose_id) || !r.read(kRestrictionTypeBits, type)) return false;
    // These ranges have no MaxVendorId of their own: any 16-bit id is in bounds.
    bool covers_vendor = false;
    if (!read_range_entries(r, 0xffff, vendor_id, covers_vendor)) return false;
    if (covers_vendor && restriction_forbids_consent(purpose_id, type)) forbidden = true;
  }
  return true;
}

bool has_purpose(std::uint32_t purposes_consent, unsigned purpose) noexcept {
  return (purposes_consent >> (kPurposesConsentBits - purpose)) & 1u;
}

}  // namespace

std::string_view to_string(tcf_verdict v) noexcept {
  switch (v) {
    case tcf_verdict::allowed:
      return "allowed";
    case tcf_verdict::malformed:
      return "malformed";
    case tcf_verdict::purposes_missing:
      return "purposes_missing";
    case tcf_verdict::vendor_missing:
      return "vendor_missing";
  }
  return "unknown";  // only for a value cast from outside the enum
}

tcf_verdict check_tcf_consent(std::string_view tc_string, std::uint16_t vendor_id) noexcept {
  bit_reader r(core_segment(tc_string));  // an empty view (not base64) fails the first read

  std::uint32_t version = 0;
  std::uint32_t purposes_consent = 0;
  if (!r.read(kVersionBits, version) || version != kTcfVersion) return tcf_verdict::malformed;
  if (!r.skip(kMetadataBits) || !r.read(kPurposesConsentBits, purposes_consent) ||
      !r.skip(kAfterPurposesBits)) {
    return tcf_verdict::malformed;
  }

  // The whole string is parsed before any verdict, so a malformed tail is never "allowed".
  bool vendor_consent = false;
  bool vendor_li_unused = false;
  bool restricted = false;
  if (!read_vendor_section(r, vendor_id, vendor_consent) ||
      !read_vendor_section(r, 0, vendor_li_unused) ||
      !read_publisher_restrictions(r, vendor_id, restricted)) {
    return tcf_verdict::malformed;
  }

  if (!has_purpose(purposes_consent, 1) || !has_purpose(purposes_consent, 3) ||
      !has_purpose(purposes_consent, 4) || restricted) {
    return tcf_verdict::purposes_missing;
  }
  if (vendor_id != 0 && !vendor_consent) return tcf_verdict::vendor_missing;
  return tcf_verdict::allowed;
}

}  // namespace bidder::privacy
