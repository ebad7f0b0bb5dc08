// The bid handler when memory runs out anywhere on its path: the answer is a 204 or a whole 200,
// and a 204 leaves no budget reserved and no bid in the event log (the reserve / report / give
// back obligation, engine::reserved_bids). Every allocation of a request is made to fail in
// turn, through a replaced global operator new: this file is its own test executable.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "bidder/engine/event_sink.hpp"
#include "bidder/engine/snapshot.hpp"
#include "bidder/engine/snapshot_holder.hpp"
#include "bidder/http/bid_handler.hpp"
#include "bidder/notice/signer.hpp"
#include "openrtb/openrtb.pb.h"
#include "tests/support/snapshot.hpp"

namespace {
// Allocations on this thread still to succeed before one throws std::bad_alloc; -1: never.
thread_local long allocations_before_failure = -1;
}  // namespace

void* operator new(std::size_t size) {
  if (allocations_before_failure == 0) {
    allocations_before_failure = -1;
    throw std::bad_alloc();
  }
  if (allocations_before_failure > 0) --allocations_before_failure;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// The nothrow forms too, so every allocation goes through the counter (and ASan sees one
// allocator: malloc and free).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

namespace bhttp = boost::beast::http;

class counting_sink final : public bidder::engine::event_sink {
 public:
  void on_bid(const bidder::engine::bid_event&) noexcept override { ++bids; }
  void on_notice(const bidder::engine::notice_event&) noexcept override {}
  int bids = 0;
};

constexpr const char* config = R"({"campaigns":[{"id":"c1","status":"ACTIVE",
  "advertiser_domains":["a.com"],"max_cpm":10,
  "creatives":[{"id":"cr","banner":{"sizes":[{"w":300,"h":250}]},"markup":"<b>ad</b>"}],
  "pricing":{"name":"fixed","config":{"@type":
  "type.googleapis.com/bidder.models.fixed.v1.FixedConfig","cpm":2}}}]})";

enum class answer_kind { json, gzip_json, protobuf };

// Two imps, each won by c1: made before the allocations are counted.
bidder::http::request bid_request(answer_kind kind) {
  bidder::http::request req{bhttp::verb::post, "/bid", 11};
  if (kind == answer_kind::protobuf) {
    bidder::openrtb::BidRequest r;
    r.set_id("r");
    r.set_tmax(60000);
    for (const char* id : {"1", "2"}) {
      auto* imp = r.add_imp();
      imp->set_id(id);
      imp->mutable_banner()->set_w(300);
      imp->mutable_banner()->set_h(250);
    }
    REQUIRE(r.SerializeToString(&req.body()));
    req.set(bhttp::field::content_type, "application/x-protobuf");
  } else {
    req.body() = R"({"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}},
      {"id":"2","banner":{"w":300,"h":250}}],"tmax":60000})";
    if (kind == answer_kind::gzip_json) req.set(bhttp::field::accept_encoding, "gzip");
  }
  req.prepare_payload();
  return req;
}

}  // namespace

TEST_CASE("out of memory anywhere on the bid path: a 204 with the budget given back, or a 200",
          "[http][unit]") {
  auto snap = bidder::test::compile_config(config);
  bidder::engine::snapshot_holder holder(snap);
  const bidder::spend::account& account = *snap->campaigns.at(0).account;
  auto signer = bidder::notice::signer::from_key(std::string(40, 'k'));
  REQUIRE(signer.has_value());
  counting_sink sink;
  const bidder::engine::auction_services services{.signer = &*signer, .events = &sink};
  const answer_kind kind =
      GENERATE(answer_kind::json, answer_kind::gzip_json, answer_kind::protobuf);

  {
    // Without a failure both imps are bid on (else the loop below checks nothing).
    bidder::http::bid_handler handler(holder, nullptr, 0, 1, 64 * 1024, services);
    auto req = bid_request(kind);
    bidder::http::response res;
    handler.handle(req, bidder::steady_clock::now(), res);
    std::string reasons;
    for (std::size_t r = 0; r < handler.metrics().no_bids.size(); ++r) {
      reasons += std::to_string(handler.metrics().no_bids[r].load()) + " ";
    }
    INFO(res.body() << " no-bids by reason: " << reasons
                    << " internal errors: " << handler.metrics().internal_errors.load());
    REQUIRE(res.result() == bhttp::status::ok);
    REQUIRE(sink.bids == 2);
  }
  int answered = 0, failed = 0;
  auto reserved_before = account.reserved();
  for (long k = 0;; ++k) {
    // A new handler each time: its buffers are cold, so the request allocates what a worker's
    // first one does.
    bidder::http::bid_handler handler(holder, nullptr, 0, 1, 64 * 1024, services);
    auto req = bid_request(kind);
    bidder::http::response res;
    const int bids_before = sink.bids;
    allocations_before_failure = k;
    handler.handle(req, bidder::steady_clock::now(), res);
    const bool all_succeeded = allocations_before_failure > 0;
    allocations_before_failure = -1;
    INFO("failing allocation " << k << ", status " << res.result_int() << ": " << res.body());
    if (res.result() == bhttp::status::ok) {
      ++answered;
      CHECK(!res.body().empty());
      CHECK(sink.bids == bids_before + 2);          // both imps' bids logged once
      CHECK(account.reserved() > reserved_before);  // and their budget held for the notices
    } else {
      ++failed;
      CHECK(res.result() == bhttp::status::no_content);
      CHECK(sink.bids == bids_before);
      CHECK(account.reserved() == reserved_before);  // nothing left reserved
    }
    reserved_before = account.reserved();
    if (all_succeeded) break;  // k is past the request's last allocation
    REQUIRE(k < 100'000);
  }
  CHECK(answered >= 1);
  CHECK(failed >= 3);  // allocations fail before, inside and after the auction
}
