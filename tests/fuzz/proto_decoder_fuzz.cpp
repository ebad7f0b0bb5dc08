// libFuzzer target: OpenRTB protobuf bid requests (bidder/openrtb/proto_codec), and for those
// that decode, the auction and both response writers (bid_path.hpp).
#include <cstddef>
#include <cstdint>

#include "bidder/openrtb/proto_codec.hpp"
#include "tests/fuzz/bid_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bidder::fuzz::decode_and_bid<bidder::openrtb::proto_decoder>(data, size);
}
