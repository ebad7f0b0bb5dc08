// libFuzzer target: what conversions read from outside (bidder/conversions): postback bodies
// (parse_postback over any bytes, every good line re-checked), and the store's own encodings
// read back from disk (read_touches, decode_conversion), which must refuse rather than misread
// damaged bytes, and round-trip what they accept.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bidder/conversions/conversion_store.hpp"
#include "bidder/conversions/postback.hpp"
#include "bidder/conversions/touch.hpp"

using namespace bidder::conversions;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr bidder::unix_seconds now = 1'795'305'600;

  std::size_t good = 0;
  const batch_result r = parse_postback(in, now, [&](conversion&& c, std::size_t) {
    if (c.conversion_id.empty() || c.conversion_id.size() > 256) std::abort();
    if (c.value.micros() < 0) std::abort();
    if (!c.value.is_zero() && c.currency.size() != 3) std::abort();
    if (c.click_id.empty() && c.bid_id.empty() && c.user_keys.empty()) std::abort();
    if (c.campaign_id.empty() && c.advertiser.empty()) std::abort();
    if (c.user_keys.size() > max_user_ids) std::abort();
    ++good;
    return std::optional<std::string>();
  });
  if (r.accepted != good) std::abort();

  std::vector<touch> touches;
  if (read_touches(in, touches)) {
    std::string again;
    for (const touch& t : touches) append_touch(again, t);
    std::vector<touch> back;
    if (!read_touches(again, back) || back != touches) std::abort();
    for (std::size_t max : {std::size_t{1}, std::size_t{32}}) {
      const auto kept = merge_touches(touches, max, 86'400);
      if (kept.size() > max) std::abort();
    }
  }
  stored_conversion c;
  if (decode_conversion(in, c)) {
    stored_conversion back;
    if (!decode_conversion(encode_conversion(c), back) || !(back == c)) std::abort();
  }
  return 0;
}
