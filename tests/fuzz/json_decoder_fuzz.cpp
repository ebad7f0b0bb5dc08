// libFuzzer target: OpenRTB JSON bid requests (bidder/openrtb/json_decoder), and for those that
// decode, the auction and both response writers (bid_path.hpp).
// Seeds: ../shared/corpus/openrtb (README.md).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bidder/openrtb/json_decoder.hpp"
#include "tests/fuzz/bid_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bidder::openrtb::json_decoder decoder;  // reused across inputs, as a worker does
  static bidder::openrtb::bid_request request;
  static bidder::fuzz::bid_path path;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  if (auto r = decoder.decode(json, request); !r) {
    if (r.error().message.empty()) std::abort();  // every error names its reason
    return 0;
  }
  path.run(request);
  return 0;
}
