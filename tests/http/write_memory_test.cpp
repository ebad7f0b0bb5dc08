// Writing an answer allocates nothing: a connection's answer write takes its operation's memory
// from the connection's write_slot, and request/answer header fields reuse freed blocks even
// when a whole round of connections frees before any takes (field_allocator.hpp).
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "bidder/http/detail/write_slot.hpp"
#include "bidder/http/field_allocator.hpp"

namespace {

namespace asio = boost::asio;
using bidder::http::detail::write_slot;

TEST_CASE("a socket write's operation lives in the write slot until it completes") {
  asio::io_context io;
  asio::local::stream_protocol::socket writer(io), reader(io);
  asio::local::connect_pair(writer, reader);
  // More than the socket buffers hold, so the write stays pending until the reader drains it.
  const std::string payload(8u << 20, 'x');
  write_slot slot;
  bool done = false;
  std::size_t written = 0;
  asio::async_write(
      writer, asio::buffer(payload),
      asio::bind_allocator(slot.get(), [&](boost::system::error_code ec, std::size_t n) {
        REQUIRE_FALSE(ec);
        // Asio gives the memory back before calling the handler.
        CHECK_FALSE(slot.taken());
        written = n;
        done = true;
      }));
  io.poll();
  REQUIRE_FALSE(done);
  CHECK(slot.taken());  // the operation fits: it is not on the heap

  std::vector<char> sink(1 << 16);
  std::size_t drained = 0;
  while (!done) {
    boost::system::error_code ec;
    reader.non_blocking(true);
    drained += reader.read_some(asio::buffer(sink), ec);
    io.poll();
  }
  CHECK(written == payload.size());
  CHECK_FALSE(slot.taken());
}

TEST_CASE("a second operation while the slot is taken comes from the heap") {
  write_slot slot;
  write_slot::allocator<std::byte> alloc(slot);
  std::byte* first = alloc.allocate(200);
  CHECK(slot.taken());
  std::byte* second = alloc.allocate(200);  // the heap
  std::byte* big = alloc.allocate(4096);    // too large for the slot
  CHECK(second != first);
  alloc.deallocate(second, 200);
  alloc.deallocate(big, 4096);
  CHECK(slot.taken());
  alloc.deallocate(first, 200);
  CHECK_FALSE(slot.taken());
  CHECK(alloc.allocate(100) == first);  // the slot again
  alloc.deallocate(first, 100);
}

TEST_CASE("header field blocks freed by a whole round are all reused by the next") {
  // A round of 300 connections: each frees its request's fields (read_next) before any of them
  // parses its next request, then each parses one. Every block taken in the second half must be
  // one freed in the first, not a new one from the heap.
  bidder::http::field_allocator<char> alloc;
  constexpr std::size_t fields = 300 * 4;
  std::vector<char*> blocks;
  for (std::size_t i = 0; i < fields; ++i) blocks.push_back(alloc.allocate(100));
  const std::set<char*> freed(blocks.begin(), blocks.end());
  for (char* p : blocks) alloc.deallocate(p, 100);
  std::size_t reused = 0;
  blocks.clear();
  for (std::size_t i = 0; i < fields; ++i) {
    blocks.push_back(alloc.allocate(100));
    reused += freed.count(blocks.back());
  }
  CHECK(reused == fields);
  for (char* p : blocks) alloc.deallocate(p, 100);
}

}  // namespace
