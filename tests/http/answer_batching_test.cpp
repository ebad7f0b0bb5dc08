// The bid port writes the answers of the requests it read in one reactor round back to back at
// the round's end (connection.hpp, defer_answer), at most max_unsent at a time: one wake-up of
// a sleeping peer for the lot instead of one per answer. A handler that looks, on the server's
// thread, whether the answers of the round's earlier requests have reached their clients yet
// tells the two apart (loopback delivers a write into the peer's socket before send returns).
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bidder/http/server.hpp"
#include "tests/support/raw_http_client.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// What the handler saw: requests "/r<k>" in the order it handled them, and for each whether
// the answer of a request handled before it (since the gate opened) had reached its client.
struct round_probe {
  std::promise<void> at_gate;  // the worker is in "/gate"
  std::promise<void> gate;
  std::size_t expected = 0;
  std::promise<void> all_handled;  // the test reads no answer before (it would take it away)
  std::shared_future<void> gate_open = gate.get_future().share();
  std::vector<int> client_fds;  // by k
  std::mutex mutex;
  std::vector<int> handled;
  std::vector<bool> earlier_answer_arrived;
};

// "/gate" holds the worker until the test opens it (so the requests written meanwhile are all
// ready in its next round); "/r<k>" records what round_probe says; anything else just answers.
class probing_handler final : public bidder::http::handler {
 public:
  explicit probing_handler(round_probe& probe) : probe_(probe) {}
  bidder::steady_clock::time_point handle(bidder::http::request& req,
                                          bidder::steady_clock::time_point,
                                          bidder::http::response& res) noexcept override {
    const std::string target(req.target());
    if (target == "/gate") {
      probe_.at_gate.set_value();
      probe_.gate_open.wait();
    }
    if (target.starts_with("/r")) {
      const int k = std::stoi(target.substr(2));
      std::lock_guard lock(probe_.mutex);
      bool arrived = false;
      for (int earlier : probe_.handled) {
        char byte;
        if (::recv(probe_.client_fds[earlier], &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
          arrived = true;
        }
      }
      probe_.handled.push_back(k);
      probe_.earlier_answer_arrived.push_back(arrived);
      if (probe_.handled.size() == probe_.expected) probe_.all_handled.set_value();
    }
    res.body() = target;
    return bidder::steady_clock::time_point::max();
  }

 private:
  round_probe& probe_;
};

std::string request(const std::string& target) {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n";
}

using client = bidder::test::raw_http_client;

// The body of the answer to a POST of `target` (the probing handler echoes the target).
std::string ask(client& c, const std::string& target) {
  c.write(request(target));
  return c.read().body();
}

// Runs `ready` requests that all wait in their sockets while the worker is held by "/gate",
// checks every one is answered, and returns what the handler saw.
std::vector<bool> run_round(round_probe& probe, int ready) {
  bidder::http::server server(
      {.port = 0}, [&probe](unsigned) { return std::make_unique<probing_handler>(probe); });
  REQUIRE(server.start());
  client holder(server.port());
  std::vector<std::unique_ptr<client>> clients;
  for (int k = 0; k < ready; ++k) {
    clients.push_back(std::make_unique<client>(server.port()));
    REQUIRE(ask(*clients.back(), "/warm") == "/warm");  // accepted and read once: registered
    probe.client_fds.push_back(clients.back()->socket.native_handle());
  }
  holder.write(request("/gate"));
  probe.at_gate.get_future().wait();  // so none of these is read in the round of "/gate"
  for (int k = 0; k < ready; ++k) clients[k]->write(request("/r" + std::to_string(k)));
  probe.expected = static_cast<std::size_t>(ready);
  probe.gate.set_value();
  probe.all_handled.get_future().wait();
  CHECK(holder.read().body() == "/gate");
  for (int k = 0; k < ready; ++k) CHECK(clients[k]->read().body() == "/r" + std::to_string(k));
  server.drain(1s);
  std::lock_guard lock(probe.mutex);
  CHECK(probe.handled.size() == static_cast<std::size_t>(ready));
  return probe.earlier_answer_arrived;
}

}  // namespace

TEST_CASE("answers of requests read in one round are written after the round", "[http]") {
  round_probe probe;
  const std::vector<bool> arrived = run_round(probe, 8);
  // Were each answer written as soon as it was ready, the first request's answer would be at
  // its client when the second is handled.
  CHECK(arrived == std::vector<bool>(8, false));
}

TEST_CASE("a round with more ready requests than max_unsent writes them in groups", "[http]") {
  round_probe probe;
  const std::vector<bool> arrived = run_round(probe, 20);
  REQUIRE(arrived.size() == 20);
  // The first 16 wait for each other.
  CHECK(std::vector<bool>(arrived.begin(), arrived.begin() + 16) == std::vector<bool>(16, false));
#ifdef BOOST_ASIO_HAS_IO_URING_AS_DEFAULT
  // With io_uring the 16 writes are queued on the ring, which Asio submits once the round's
  // completions have run: every answer of the round leaves after it.
  CHECK(std::vector<bool>(arrived.begin() + 16, arrived.end()) == std::vector<bool>(4, false));
#else
  // With epoll each write is a system call: from the 17th on, those 16 have been written.
  CHECK(std::vector<bool>(arrived.begin() + 16, arrived.end()) == std::vector<bool>(4, true));
#endif
}
