// File: bench/load/floor_server.hpp
//
// The bare-HTTP floor: a Beast HTTP/1.1 keep-alive server that answers every request with an
// empty 204 and does nothing else. It is built like the bidder's own server (one io_context per
// thread, beast::tcp_stream with an idle timeout, a request_parser with body and header limits
// per request, a prepared response, 204 without Content-Length), so bidder-vs-floor is "the bid
// path" and nothing else. `bidbench --floor` runs load against it in-process; `bidbench
// --serve-floor` serves it as its own process (so it can be pinned with taskset).
//
//   auto floor = floor_server::start({.port = 0, .cpu = 0});
//   ... (*floor)->port() ...
//   (*floor)->stop();
//
// Thread-safety: start/stop from one thread; requests() may be read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bidder/core/error.hpp"

namespace bidder::bench {

struct floor_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  /// Pin the server thread to this CPU (Linux); none: the scheduler decides.
  std::optional<unsigned> cpu;
};

class floor_server {
 public:
  /// Binds, listens and starts the server thread. Errors: io_error (bad address, port in use,
  /// CPU cannot be pinned).
  [[nodiscard]] static result<std::unique_ptr<floor_server>> start(const floor_options& options);
  ~floor_server();
  floor_server(const floor_server&) = delete;
  floor_server& operator=(const floor_server&) = delete;

  std::uint16_t port() const noexcept;
  /// Requests answered so far.
  std::uint64_t requests() const noexcept;
  /// Closes every connection and joins the thread. Idempotent.
  void stop();

 private:
  struct impl;
  explicit floor_server(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

/// Pins the calling thread to `cpu`. Errors: io_error with the reason.
[[nodiscard]] result<void> pin_current_thread(unsigned cpu);

}  // namespace bidder::bench
