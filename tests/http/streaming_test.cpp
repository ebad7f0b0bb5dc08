// Streamed bodies (the admin port's uploads): the end of an upload, which for an audience push
// sorts and applies millions of members, runs off the worker's thread, so the same worker
// keeps answering its other connections meanwhile.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "bidder/http/server.hpp"
#include "tests/integration/http_client.hpp"

namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

// Holds finish() until `release` is set, after saying it started.
class held_body final : public bidder::http::body_stream {
 public:
  held_body(std::promise<void>& started, std::shared_future<void> release)
      : started_(started), release_(std::move(release)) {}
  void on_chunk(std::string_view bytes) noexcept override { received_ += bytes; }
  void finish(bidder::http::response& res) noexcept override {
    started_.set_value();
    release_.wait();
    res.body() = "finished " + received_;
  }

 private:
  std::promise<void>& started_;
  std::shared_future<void> release_;
  std::string received_;
};

// PUT /upload is streamed into a held_body; anything else answers "ok" at once.
class upload_handler final : public bidder::http::handler {
 public:
  upload_handler(std::promise<void>& started, std::shared_future<void> release)
      : started_(started), release_(std::move(release)) {}
  bidder::steady_clock::time_point handle(bidder::http::request&, bidder::steady_clock::time_point,
                                          bidder::http::response& res) noexcept override {
    res.body() = "ok";
    return bidder::steady_clock::time_point::max();
  }
  bidder::http::stream_decision open_stream(
      const bidder::http::request_header& header, bidder::http::response&,
      std::unique_ptr<bidder::http::body_stream>& out) noexcept override {
    if (header.method() != bhttp::verb::put) return bidder::http::stream_decision::read_whole;
    out = std::make_unique<held_body>(started_, release_);
    return bidder::http::stream_decision::stream;
  }

 private:
  std::promise<void>& started_;
  std::shared_future<void> release_;
};

}  // namespace

TEST_CASE("while an upload's end is being processed, its worker answers other requests",
          "[http][integration]") {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // One worker thread: without the offload, the held finish() would block /healthz too.
  bidder::http::server server({.port = 0, .threads = 1, .stream_bodies = true}, [&](unsigned) {
    return std::make_unique<upload_handler>(started, released);
  });
  REQUIRE(server.start());

  auto upload = std::async(std::launch::async, [&] {
    bidder::test::http_client client(server.port());
    return client.send({.method = "PUT", .target = "/upload", .body = "members"});
  });
  started.get_future().wait();  // finish() is running, and held

  auto health = std::async(std::launch::async, [&] {
    bidder::test::http_client client(server.port());
    return client.send({.method = "GET", .target = "/healthz"});
  });
  // A bound, not a pause: the answer comes at once unless the worker is blocked.
  const bool answered = health.wait_for(10s) == std::future_status::ready;
  release.set_value();
  REQUIRE(answered);
  CHECK(health.get().body == "ok");
  const auto reply = upload.get();
  CHECK(reply.status == 200);
  CHECK(reply.body == "finished members");
  server.drain(1s);
}
