// libFuzzer target: notice and click query strings (bidder/notice/notice_url) and their
// signature check (bidder/notice/signer), then the notice processor (bidder/engine) over the
// demo config. The first byte picks the notice kind; the rest is the query string. A query that
// parses is also re-signed with the right signature and processed again, so the fuzzer reaches
// the processing past the signature check (prices, ages, conflicts, replays).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "bidder/engine/notice_processor.hpp"
#include "bidder/notice/notice_url.hpp"
#include "tests/fuzz/demo.hpp"

namespace {

using namespace bidder;

constexpr unix_seconds fuzz_now = 1'763'800'000;

struct fixture {
  std::shared_ptr<const engine::snapshot> snap;
  std::unique_ptr<notice::signer> signer;
  std::unique_ptr<engine::notice_processor> processor;
  notice::signer::context mac;
  notice::notice_parser parser;

  fixture()
      : snap(fuzz::demo_snapshot()),
        signer(fuzz::fixed_key_signer()),
        processor(std::make_unique<engine::notice_processor>(*signer, nullptr)),
        mac(signer->new_context()) {}
};

// `query` without its sig parameters.
std::string without_sig(std::string_view query) {
  std::string out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.starts_with("sig=") || pair == "sig") continue;
    if (!out.empty()) out += '&';
    out += pair;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  if (size == 0) return 0;
  const auto kind = static_cast<notice::notice_kind>(data[0] % 4);
  const std::string_view query(reinterpret_cast<const char*>(data) + 1, size - 1);

  (void)notice::parse_price(query);
  (void)notice::looks_encrypted(query);
  (void)notice::kind_from_path(query);

  auto parsed = f.parser.parse(kind, query);
  if (!parsed) {
    if (parsed.error().message.empty()) std::abort();
  } else {
    (void)f.mac.verify(parsed->id, parsed->signature);
  }
  (void)f.processor->process(*f.snap, kind, query, fuzz_now);

  if (parsed && parsed->id.key_id == f.signer->signing_key_id()) {
    std::string signature;
    f.mac.sign(parsed->id, signature);
    if (!f.mac.verify(parsed->id, signature)) std::abort();  // sign and verify must agree
    std::string signed_query = without_sig(query);
    signed_query += "&sig=";
    signed_query += signature;
    (void)f.processor->process(*f.snap, kind, signed_query, fuzz_now);
  }
  return 0;
}
