// File: bidder/http/server.hpp
//
// An HTTP/1.1 (and 1.0) keep-alive server on Boost.Beast. Each worker thread owns an
// io_context and its own SO_REUSEPORT acceptor on the same port (measured ~1.8x faster than
// threads sharing one io_context, see shared/MEASUREMENTS.md), and one `handler` that serves
// its connections synchronously: handlers keep per-thread state without locks.
//
// It knows nothing of bids: the bid port and the admin port are two servers with different
// handlers. A server with `stream_bodies` set (the admin port) reads each request's header
// first and lets the handler take the body as a stream of chunks (an audience upload of any
// size with bounded memory); other requests are read whole as before. Limits: a body over
// `max_body_bytes` gets 413, a malformed request 400, both then close the connection; a connection
// idle longer than `idle_timeout` is closed, a request not read whole within `request_timeout` of
// its first byte gets 408, and at the connection cap the connection with the least progress makes
// room for the newcomer.
//
//   http::server bids({.host = "127.0.0.1", .port = 0, .threads = 2}, make_handler);
//   if (auto r = bids.start(); !r) fail(r.error().message);
//   ... bids.port() ...
//   bids.drain(std::chrono::seconds(5));   // stop accepting, finish in-flight, close
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bidder/core/deadline.hpp"
#include "bidder/core/error.hpp"
#include "bidder/http/field_allocator.hpp"
#include "bidder/http/shed_signal.hpp"

namespace bidder::http {

/// The header fields of requests and answers come from field_allocator: the bid port parses
/// and answers one request after another without allocating for them.
using fields = boost::beast::http::basic_fields<field_allocator<char>>;
using request = boost::beast::http::request<boost::beast::http::string_body, fields>;
using response = boost::beast::http::response<boost::beast::http::string_body, fields>;

using request_header = boost::beast::http::request_header<fields>;

/// Receives one request's body chunk by chunk, on the worker thread (see handler::open_stream).
/// finish() runs on the worker's offload thread instead, while the worker serves its other
/// connections: it must touch only the stream's own state and thread-safe objects, never the
/// handler's per-thread state. Destroyed (on the worker thread) without finish() when the
/// request is cut (connection lost, timeout, drain): it must then leave no trace.
class body_stream {
 public:
  virtual ~body_stream() = default;
  /// The next bytes of the body (already de-chunked). Must not throw.
  virtual void on_chunk(std::string_view bytes) noexcept = 0;
  /// The body is complete, or stop_reading() said so: fills `res` (already cleared, 200).
  /// Runs on the offload thread (see above). Must not throw.
  virtual void finish(response& res) noexcept = 0;
  /// Asked after each chunk: true when the answer no longer depends on the rest of the body
  /// (a refused upload). The server then reads no more of it, calls finish(), answers and
  /// closes the connection (after draining what the client still sends, within limits).
  virtual bool stop_reading() noexcept { return false; }
};

/// What handler::open_stream decided.
enum class stream_decision : std::uint8_t {
  read_whole,  // not a streamed request: read the body whole, then handle()
  stream,      // the returned body_stream takes the body
  answered,    // `res` holds the answer (e.g. 401); the body is not read, the connection closes
};

/// Serves requests for the connections of one worker thread.
class handler {
 public:
  virtual ~handler() = default;
  /// Fills `res` (already cleared; version and keep-alive are set by the server) for `req`,
  /// which arrived (was fully read) at `arrival`. Returns the answer's deadline, or
  /// time_point::max() when it has none; answers written after it are counted as late.
  /// Must not throw.
  virtual steady_clock::time_point handle(request& req, steady_clock::time_point arrival,
                                          response& res) noexcept = 0;
  /// Called after the answer to a request with a deadline was written.
  virtual void on_written(bool late) noexcept {}
  /// Counts a connection closed to make room for a new one at the connection cap
  /// (server_options::max_connections_per_thread).
  virtual void on_evicted() noexcept {}
  /// Counts a request refused by the HTTP layer itself (status 400, 408, 413, 431 or 501).
  virtual void on_refused(unsigned status) noexcept {}
  /// The worker runs behind, as `why` tells (server_options: Overload): answers `req` at the
  /// least cost if it may be dropped (a bid request: 204 no-bid) and returns true, or returns
  /// false to have it served by handle() (a notice is money and is never shed).
  virtual bool shed(const request& req, shed_signal why, response& res) noexcept { return false; }
  /// Servers with `stream_bodies` only: called once a request's header has arrived. Returns
  /// `stream` with `out` set to take the body chunk by chunk (a client that sent "Expect:
  /// 100-continue" is then told to go on), `answered` with `res` filled to refuse it at once,
  /// or `read_whole` (the default) for the usual handle().
  virtual stream_decision open_stream(const request_header& header, response& res,
                                      std::unique_ptr<body_stream>& out) noexcept {
    return stream_decision::read_whole;
  }
};

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (tests)
  unsigned threads = 1;
  std::size_t max_body_bytes = 256 * 1024;
  /// Request line plus headers. Exchanges send a few hundred bytes. Also bounds chunk framing
  /// (a chunk-size line with its extensions, trailers) buffered past the header; the admin port
  /// (stream_bodies) allows one 64 KiB read more.
  std::size_t max_header_bytes = 16 * 1024;
  /// A connection waiting for the first byte of its next request longer than this is closed.
  /// Without stream_bodies it is checked every quarter of the shorter of this and
  /// request_timeout (at most every 250 ms), so it fires up to that much late.
  std::chrono::milliseconds idle_timeout{30'000};
  /// A request must arrive whole (header and body) within this time from its first byte, however
  /// steadily its bytes trickle in; past it the client gets 408 and the connection closes. (A
  /// stream_bodies server, the admin port, bounds the header by idle_timeout instead, and a
  /// streamed body by idle_timeout between chunks.) A bid request is worth nothing after its tmax,
  /// which the exchange counts from when it sent the first byte: the bid port's default (1 s) is
  /// above any tmax an exchange sends, and the bid handler also answers a request that arrived
  /// after its deadline with an immediate no-bid.
  std::chrono::milliseconds request_timeout{1'000};
  /// Open connections per worker thread (also capped by the process's descriptor limit, see
  /// server.cpp). At the cap a new connection is kept and one that has made the least progress
  /// is closed to make room: the connection that has gone longest without completing a request
  /// (since it was accepted, or since its last answer), so a flood of connections that never
  /// finish a request (slow-loris) evicts itself, not the exchanges' busy keep-alive ones.
  std::size_t max_connections_per_thread = 10000;
  /// Overload. A bid request the worker reads is first offered to handler::shed(), which may
  /// answer it at the least cost (a bid port: 204), when the worker is behind:
  /// - the request waited longer than `shed_queued` between reaching this host (the kernel's
  ///   receive time of its first bytes) and the worker reading it; this sheds the requests
  ///   that queued, and only as many as needed to keep the wait short. Zero: not measured.
  /// - or the worker's thread was on a CPU `shed_busy_share` of a `shed_window` (busy_meter.hpp),
  ///   until it falls 10 points under: with few connections the queue forms in the clients'
  ///   connections, where the server cannot see it. Zero: never.
  /// (The admin port, stream_bodies, sheds nothing.)
  std::chrono::microseconds shed_queued{1'000};
  std::chrono::microseconds shed_window{10'000};
  double shed_busy_share = 0.98;
  /// Run the worker threads (and threads they start) as background threads
  /// (core/background_thread.hpp): the admin port does, so that parsing, sorting and ingesting
  /// an upload yield the CPU to bid threads at once.
  bool background_threads = false;
  /// Read headers first and offer each request to handler::open_stream (admin port).
  bool stream_bodies = false;
  /// Largest streamed body (the stream itself may refuse earlier).
  std::uint64_t max_streamed_body_bytes = std::uint64_t{64} << 30;
  /// Bytes a streamed body is read in at a time (the memory one upload holds on the socket).
  std::size_t stream_chunk_bytes = 256 * 1024;
};

class server {
 public:
  /// `make_handler(worker_index)` is called once per worker thread, on that thread's behalf.
  server(server_options options, std::function<std::unique_ptr<handler>(unsigned)> make_handler);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the worker threads. Errors: io_error (bad address, port in use).
  [[nodiscard]] result<void> start();
  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept;
  /// Stops accepting, lets in-flight requests finish and closes idle connections; returns when
  /// all workers stopped or `grace` passed (then the rest is cut). Idempotent.
  void drain(std::chrono::milliseconds grace);
  /// drain() in two halves, so several servers can drain at the same time: begin_drain() stops
  /// accepting and returns at once; finish_drain() waits until `until`, then cuts what is left.
  void begin_drain();
  void finish_drain(steady_clock::time_point until);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Splits "host:port" (or "[v6]:port"). Errors: invalid_config.
[[nodiscard]] result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view text);

}  // namespace bidder::http
