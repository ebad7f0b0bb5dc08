// libFuzzer target: OpenRTB protobuf bid requests (bidder/openrtb/proto_codec), and for those
// that decode, the auction and both response writers (bid_path.hpp).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bidder/openrtb/proto_codec.hpp"
#include "tests/fuzz/bid_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bidder::openrtb::proto_decoder decoder;  // reused across inputs, as a worker does
  static bidder::openrtb::bid_request request;
  static bidder::fuzz::bid_path path;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto r = decoder.decode(bytes, request); !r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  path.run(request);
  return 0;
}
