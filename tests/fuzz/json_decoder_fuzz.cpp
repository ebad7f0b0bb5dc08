// libFuzzer target: OpenRTB JSON bid requests (bidder/openrtb/json_decoder), and for those that
// decode, the auction and both response writers (bid_path.hpp).
// Seeds: ../shared/corpus/openrtb (README.md).
#include <cstddef>
#include <cstdint>

#include "bidder/openrtb/json_decoder.hpp"
#include "tests/fuzz/bid_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bidder::fuzz::decode_and_bid<bidder::openrtb::json_decoder>(data, size);
}
