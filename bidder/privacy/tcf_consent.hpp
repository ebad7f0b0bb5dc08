// File: bidder/privacy/tcf_consent.hpp
//
// Checks an IAB TCF v2 consent string (OpenRTB user.consent) on the bid path: may this bid use
// the user's personal data (audience segments, user ids) for personalised ads? Decodes the core
// segment straight from the base64url text with a small bit reader: no allocation, no copy,
// noexcept, work bounded by the string's length, so it runs on every bid request.
//
//   using bidder::privacy::check_tcf_consent;
//   using bidder::privacy::tcf_verdict;
//   if (gdpr_applies && check_tcf_consent(req.user.consent, kOurGvlVendorId) !=
//   tcf_verdict::allowed)
//     drop_personal_data(req);  // bid contextually, or not at all
//
// Format: IAB Tech Lab "Transparency and Consent String with Global Vendor List Format" (TCF
// v2.x), "The Core String". Only the core segment (before the first '.') is read; disclosed
// vendors, allowed vendors and publisher TC segments are ignored (not even character-checked).
// Accepted alphabets: base64url (A-Z a-z 0-9 - _), and also '+' '/' with at most two trailing
// '=' on the core segment, as some exchanges re-encode with standard base64.
//
// Policy (why "allowed" means what it means):
// - A DSP uses personal data for personalised ads only with CONSENT, never legitimate interest,
//   for purposes 1 (store and/or access information on a device), 3 (create a personalised ads
//   profile) and 4 (select personalised ads). Purpose 1 never could rest on legitimate interest,
//   and since TCF policy v2.2 purposes 3 and 4 cannot either. PurposesLITransparency is ignored,
//   and so is PurposeOneTreatment: purpose 1 not disclosed means purpose 1 not consented.
// - vendor_id != 0: the vendor's bit in the Vendor Consent section must be set (its Vendor
//   Legitimate Interest bit does not count; that section is parsed only to get past it).
//   vendor_id == 0: no vendor check, and publisher restrictions (always per vendor) are moot.
// - Publisher restrictions covering vendor_id: type 0 "not allowed" on purpose 1, 3 or 4, or
//   type 2 "require legitimate interest" on purpose 3 or 4 (consent then cannot be used), mean
//   purposes_missing. Type 1 "require consent" changes nothing: we require consent anyway. Type
//   2 on purpose 1 is ignored (purpose 1 cannot be flexible, so the spec lets vendors ignore it),
//   and type 3 is "undefined, not used" and ignored. Restrictions on other purposes are ignored.
// - The Publisher Restrictions section must be present (NumPubRestrictions, 12 bits, even when
//   0): a core string that ends after the Vendor Legitimate Interest section is malformed. The
//   spec says "Value is required even if it is 0", and the reference encoders (iabtcf-es,
//   iabtcf-java, iabgpp) always write it. IAB's GPP decoders tolerate its absence, but
//   iabgpp-java issue #67 shows that leniency silently accepting corrupt restrictions; reading a
//   missing section as "no restrictions" could hide a "not allowed", so we fail closed.
// - Strictness: version must be 2; a bitfield, range list or restriction list running past the
//   end, a range whose EndVendorId < StartVendorId, or a vendor consent/LI entry above that
//   section's MaxVendorId is malformed. Bits after the restrictions section are padding and
//   ignored. Verdict order: malformed, then purposes_missing, then vendor_missing.
#pragma once

#include <cstdint>
#include <string_view>

namespace bidder::privacy {

enum class tcf_verdict : std::uint8_t {
  allowed,           // well-formed, purposes 1, 3, 4 consented, vendor consented and unrestricted
  malformed,         // not a well-formed TCF v2 core string (see the header comment)
  purposes_missing,  // no consent for purpose 1, 3 or 4, or a publisher restriction forbids it
  vendor_missing,    // vendor_id != 0 and its vendor-consent bit is not set
};

/// "allowed", "malformed", "purposes_missing" or "vendor_missing" (for logs and metrics).
std::string_view to_string(tcf_verdict v) noexcept;

/// Checks a TC string (user.consent). Only the core segment (before the first '.') is read; other
/// segments are ignored. vendor_id 0: no vendor check. Never allocates; time linear in the length.
tcf_verdict check_tcf_consent(std::string_view tc_string, std::uint16_t vendor_id) noexcept;

}  // namespace bidder::privacy
