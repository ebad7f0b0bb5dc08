// libFuzzer target: the audience admin API's request parsing (bidder/http/audience_api):
// percent_decode, and serve_audience_api on a request made from the input against a RocksDB
// store in a temporary directory: the first byte picks the method, the bytes up to the first
// newline are the target, the rest is the body (an audience file, plain or gzip). Compaction
// and ingest (which reads a folder named in the query) are left out: slow, and they touch
// files outside the store.
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "bidder/audience/rocksdb_store.hpp"
#include "bidder/http/audience_api.hpp"

namespace {

std::unique_ptr<bidder::audience::rocksdb_store> open_store() {
  char dir[] = "/tmp/audience_api_fuzz.XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  bidder::audience::rocksdb_options options;
  options.path = std::string(dir) + "/store";
  options.block_cache_bytes = 8 << 20;
  options.warm_cache_on_open = false;
  auto store = bidder::audience::rocksdb_store::open(options);
  if (!store) std::abort();
  return std::move(*store);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace bhttp = boost::beast::http;
  static std::unique_ptr<bidder::audience::rocksdb_store> store = open_store();
  if (size == 0) return 0;
  static constexpr bhttp::verb verbs[] = {bhttp::verb::get, bhttp::verb::put, bhttp::verb::post,
                                          bhttp::verb::delete_};
  const bhttp::verb method = verbs[data[0] % 4];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string decoded;
  (void)bidder::http::percent_decode(rest, decoded, false);
  (void)bidder::http::percent_decode(rest, decoded, true);

  const std::size_t newline = rest.find('\n');
  const std::string_view target = rest.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.find("compact") != std::string_view::npos ||
      path.find("ingest") != std::string_view::npos) {
    return 0;
  }
  bidder::http::request req;
  req.method(method);
  req.target(target);
  req.version(11);
  req.body() = std::string(body);
  bidder::http::response res;
  (void)bidder::http::serve_audience_api(*store, req, res);
  return 0;
}
