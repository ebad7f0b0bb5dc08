// File: bidder/http/detail/connection.hpp
//
// What http::server's two kinds of connection share (server.cpp is the only includer): a
// worker's state (its connections in eviction order, its offload thread), and `session`, the
// base of a connection: answering, refusing, lingering, closing, eviction. The bid port's
// connections are bid_session (bid_session.hpp: its own non-blocking reads, the sweep's
// timeouts), the admin port's stream_session (stream_session.hpp: header first, bodies
// streamed to a body_stream).
#pragma once

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bidder/core/background_thread.hpp"
#include "bidder/http/busy_meter.hpp"
#include "bidder/http/detail/write_slot.hpp"
#include "bidder/http/response_bytes.hpp"
#include "bidder/http/server.hpp"

namespace bidder::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

class session;

// A session's place in its worker's connection_order. (A base class rather than a member hook,
// so the lists can be declared before session is.)
struct session_link
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>> {
  bool proven = false;  // has completed a request (connection_order)
};

// A worker's connections in the order they are closed to make room at the connection cap
// (make_room): first those closing (a last answer lingering), then those that never completed a
// request, oldest first (a slow-loris flood is all here), then those that did, least recently
// first (an exchange's busy keep-alive connections come last). Kept in order as requests
// complete: O(1), no allocation. One worker's thread only.
class connection_order {
 public:
  void add(session_link& s) { unproven_.push_back(s); }
  void remove(session_link& s) {
    if (!s.is_linked()) return;
    auto& list = s.proven ? proven_ : unproven_;
    list.erase(list.iterator_to(s));
  }
  void completed_request(session_link& s) {
    if (!s.is_linked()) return;  // evicted: closing
    remove(s);
    s.proven = true;
    proven_.push_back(s);
  }
  void closing(session_link& s) {
    if (!s.is_linked()) return;
    remove(s);
    s.proven = false;
    unproven_.push_front(s);
  }
  std::size_t size() const noexcept { return unproven_.size() + proven_.size(); }
  /// Calls `f` on each (the sweep, a drain).
  template <class F>
  void for_each(F&& f) {
    find_first([&f](session_link& s) {
      f(s);
      return false;
    });
  }
  /// Calls `f` on each in eviction order until it returns true; whether one did.
  template <class F>
  bool find_first(F&& f) {
    for (auto* list : {&unproven_, &proven_}) {
      for (auto it = list->begin(); it != list->end();) {
        session_link& s = *it++;  // `f` may remove it
        if (f(s)) return true;
      }
    }
    return false;
  }

 private:
  using list = boost::intrusive::list<session_link, boost::intrusive::constant_time_size<true>>;
  list unproven_;
  list proven_;
};

// RFC 9112 section 6.1: a server answers 501 to a transfer coding it does not implement. Beast
// takes a body sent "Transfer-Encoding: gzip, chunked" apart from its chunks but leaves the
// gzip, which would then be read as the body. True for such a request.
template <class Parser>
bool unsupported_transfer_coding(const Parser& parser) {
  if (!parser.chunked()) return false;  // the usual request: nothing to look at
  for (const auto& coding : bhttp::ext_list{parser.get()[bhttp::field::transfer_encoding]}) {
    if (!beast::iequals(coding.first, "chunked")) return true;
  }
  return false;
}

constexpr std::string_view unsupported_coding =
    "transfer coding not supported: send the body plain or chunked (compress it with "
    "Content-Encoding: gzip)\n";

// Runs blocking work (a streamed upload's finish(): sorting and applying a 10M-line push takes
// seconds) off a worker's thread, so that thread keeps answering its other connections
// (/healthz, /metrics). Jobs run one at a time, in order. Joined on destruction: the job
// running finishes, queued ones are dropped.
class offload_thread {
 public:
  explicit offload_thread(bool background) {
    thread_ = std::thread([this, background] {
      if (background) yield_to_bid_threads(background_priority::idle);
      run();
    });
  }
  ~offload_thread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void run_later(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;  // its captures go before the lock is taken again
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

struct worker {
  // Declared before `io`, so they outlive it: destroying `io` destroys the handlers it still
  // holds, and with them sessions, whose destructors leave `sessions`.
  connection_order sessions;       // touched only on this worker's thread
  std::size_t connection_cap = 0;  // effective_connection_cap()
  std::unique_ptr<handler> serve;
  asio::io_context io{1};  // run by one thread (the offload thread only posts to it)
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::optional<asio::steady_timer> sweep;  // sweep_timeouts()
  // The bid port's answers waiting for the end of the reactor's round (session::defer_answer):
  // written back to back by one posted flush_answers(). Declared after `io`, so destroyed
  // before it (the sessions hold sockets of `io`); `spare` keeps the other vector's capacity.
  std::vector<std::shared_ptr<session>> unsent;
  std::vector<std::shared_ptr<session>> spare;
  bool flush_posted = false;
  // stream_bodies only. Declared after `io`, so it is joined while `io` still exists: a
  // finishing job posts its answer there.
  std::optional<offload_thread> offload;
  explicit worker(const server_options& options)
      : busy(options.shed_window, options.shed_busy_share, options.shed_busy_share - 0.1) {
    if (options.stream_bodies) offload.emplace(options.background_threads);
  }
  // Whether this worker keeps up with its connections (busy_meter.hpp); its thread's only.
  busy_meter busy;
  bool draining = false;
  // Where lingering connections' last bytes are read and dropped (one thread: no races).
  std::array<char, 16 * 1024> discard{};
  std::thread thread;
};

/// One connection of a worker. Derived classes read requests (read_next); this base answers them
/// (on_read: the handler, send_response, on_write) and owns the connection's life.
class session : public session_link, public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, worker& w, const server_options& options)
      : stream_(std::move(socket)), worker_(w), options_(options) {
    worker_.sessions.add(*this);
  }
  virtual ~session() { worker_.sessions.remove(*this); }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() { read_next(); }

  // At the end of a drain: closes the socket so every pending operation completes now.
  void force_close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  // Called on the worker thread when the server drains: an idle connection closes now, a busy
  // one after its current answer.
  void drain() {
    if (!busy_ && !reading()) {
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
    }
  }

  // Whether closing this connection to make room loses nothing: no request is being handled or
  // answered (a half-read request is not worth keeping at the cap: it shows no progress).
  bool evictable() const noexcept { return !busy_; }

  // Closes the connection to make room for a new one (make_room). It leaves the worker's list
  // now, so the newcomer fits; its pending operations complete (aborted) and release it.
  void evict() {
    worker_.sessions.remove(*this);
    worker_.serve->on_evicted();
    close();
  }

  // The worker's sweep (sweep_timeouts): a read or write of the bid path past its deadline is
  // cancelled, and its handler sees a timeout.
  void check_deadline(steady_clock::time_point now) {
    if (now < io_deadline_) return;
    io_deadline_ = steady_clock::time_point::max();
    timed_out_ = true;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }

 protected:
  // Reads the next request, then calls on_read (or answers an error itself).
  virtual void read_next() = 0;
  // Part of a request has been read (a drain then lets it finish).
  virtual bool reading() const { return parser_ && parser_->got_some(); }

  // A request arrived whole (or a streamed body's chunk): the last to be evicted at the cap.
  void made_progress() { worker_.sessions.completed_request(*this); }

  // Answers (or closes on) a read error; `got_some`: part of a request had arrived.
  void on_read_error(beast::error_code ec, bool got_some) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof ||
        ec == bhttp::error::partial_message) {
      return close();
    }
    if (ec == beast::error::timeout) {
      if (got_some) return refuse(bhttp::status::request_timeout, "request timed out\n");
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return refuse(bhttp::status::payload_too_large, "request body too large\n");
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(bhttp::status::request_header_fields_too_large, "request headers too large\n");
    }
    if (ec == bhttp::error::buffer_overflow) {  // see the constructor and continue_request()
      return refuse(bhttp::status::bad_request,
                    "malformed HTTP request: chunk framing (extensions or trailers) too long\n");
    }
    return refuse(bhttp::status::bad_request, "malformed HTTP request: " + ec.message() + "\n");
  }

  void on_read(beast::error_code ec) {
    if (ec) return on_read_error(ec, parser_ && parser_->got_some());
    busy_ = true;
    made_progress();
    const auto now = steady_clock::now();
    // The request's deadline runs from when its first byte reached this host, not from when it
    // was read whole (start_request_clock; the admin port reads no stamps).
    const auto arrival = options_.stream_bodies ? now : request_started_;
    request& req = parser_->get();
    res_.clear();
    res_.body().clear();
    res_.version(req.version());
    res_.result(bhttp::status::ok);
    // Behind: this request waited for the worker longer than shed_queued, or the worker is
    // busy without a pause (the wait then grows where the server cannot see it, in the
    // clients' connections). See server_options.
    const bool queued_long = options_.shed_queued.count() > 0 && queued_ > options_.shed_queued;
    const bool behind = queued_long || worker_.busy.saturated(now);
    if (behind &&
        worker_.serve->shed(req, queued_long ? shed_signal::queued : shed_signal::busy, res_)) {
      deadline_ = steady_clock::time_point::max();
    } else {
      deadline_ = worker_.serve->handle(req, arrival, res_);
    }
    res_.keep_alive(req.keep_alive() && !worker_.draining);
    res_.prepare_payload();
    // RFC 9110 section 8.6: a 204 carries no Content-Length (some exchanges are strict).
    if (res_.result() == bhttp::status::no_content) res_.erase(bhttp::field::content_length);
    if (!options_.stream_bodies) return defer_answer();
    send_response(
        options_.idle_timeout,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  // The bid port writes its answers at the end of the reactor's round rather than one by one
  // as they are ready. A write that wakes a peer sleeping in epoll_wait costs the sender that
  // wake-up (on loopback about 4 us of this thread's CPU per answer, the client's
  // sock_def_readable); answers written back to back wake it once for the lot, the rest
  // finding it awake. flush_answers() is posted once per round, so it runs after the requests
  // that were ready with this one; an answer waits at most max_unsent answers' handling. (On
  // io_uring, BIDDER_IO_URING, a write only queues on the ring, which Asio submits after the
  // round's completions: the round's answers all leave then, max_unsent or not.)
  static constexpr std::size_t max_unsent = 16;
  void defer_answer() {
    render_response(res_, out_);
    io_deadline_ = steady_clock::now() + options_.idle_timeout;
    worker_.unsent.push_back(shared_from_this());
    if (worker_.unsent.size() >= max_unsent) return flush_answers(worker_);
    if (!worker_.flush_posted) {
      worker_.flush_posted = true;
      asio::post(worker_.io, [&w = worker_] { flush_answers(w); });
    }
  }

 public:
  // Writes every deferred answer of `w` (its thread only). The posted flush may then find none.
  static void flush_answers(worker& w) {
    w.flush_posted = false;
    w.spare.swap(w.unsent);  // a write never completes inline, so nothing joins `unsent` now
    for (auto& s : w.spare) s->write_answer();
    w.spare.clear();
  }

 protected:
  void write_answer() {
    asio::async_write(
        stream_.socket(), asio::buffer(out_),
        asio::bind_allocator(write_slot_.get(),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_write(ec);
                             }));
  }

  // Writes res_ as one buffer (response_bytes.hpp), cut after `timeout`.
  template <class Handler>
  void send_response(steady_clock::duration timeout, Handler&& handler) {
    render_response(res_, out_);
    if (options_.stream_bodies) {
      stream_.expires_after(timeout);
      asio::async_write(stream_, asio::buffer(out_), std::forward<Handler>(handler));
    } else {
      io_deadline_ = steady_clock::now() + timeout;
      asio::async_write(stream_.socket(), asio::buffer(out_), std::forward<Handler>(handler));
    }
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    io_deadline_ = steady_clock::time_point::max();
    // An admin answer (a report, /metrics) may be megabytes: not kept for the next request.
    if (out_.capacity() > kept_output_bytes) std::string().swap(out_);
    if (deadline_ != steady_clock::time_point::max()) {
      worker_.serve->on_written(steady_clock::now() > deadline_);
    }
    if (ec || timed_out_ || worker_.draining) return close();
    if (!res_.keep_alive()) return linger_close();
    read_next();
  }

  // Answers an error the HTTP layer found itself, then closes: after a framing error the
  // connection's byte stream cannot be trusted.
  void refuse(bhttp::status status, std::string body) {
    worker_.serve->on_refused(static_cast<unsigned>(status));
    res_.clear();
    res_.version(11);
    res_.result(status);
    res_.set(bhttp::field::content_type, "text/plain");
    res_.set(bhttp::field::connection, "close");
    res_.body() = std::move(body);
    res_.keep_alive(false);
    res_.prepare_payload();
    deadline_ = steady_clock::time_point::max();
    send_response(std::chrono::seconds(5),
                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                    if (ec || self->worker_.draining) return self->close();
                    self->linger_close();
                  });
  }

  // Closes after a last answer whose request may not have been read to its end (a refusal, an
  // upload answered from its header, "Connection: close"): the send side first, then what the
  // client still sends is read and dropped, at most linger_bytes or linger_time, until it
  // closes too. Closing with unread bytes would make the kernel reset the connection, and a
  // client still sending would get the reset instead of the answer.
  static constexpr std::size_t linger_bytes = std::size_t{1} << 20;
  // An upload stopped early has its client's socket buffers and chunk in flight (loopback:
  // several MB) still to arrive; reading and dropping them costs little.
  static constexpr std::size_t stopped_upload_linger_bytes = std::size_t{64} << 20;
  static constexpr std::chrono::seconds linger_time{2};
  void linger_close() {
    worker_.sessions.closing(*this);                 // the first to be evicted at the cap
    io_deadline_ = steady_clock::time_point::max();  // linger_time bounds it (tcp_stream's timer)
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_left_ = std::exchange(linger_budget_, linger_bytes);
    stream_.expires_after(linger_time);
    linger_read();
  }
  void linger_read() {
    stream_.async_read_some(asio::buffer(worker_.discard),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec || n >= self->linger_left_ || self->worker_.draining) {
                                return self->close();
                              }
                              self->linger_left_ -= n;
                              // linger_time without a byte, not in all: a slow link
                              // draining a stopped upload still gets the answer.
                              self->stream_.expires_after(linger_time);
                              self->linger_read();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  static constexpr std::size_t initial_read_bytes = 8 * 1024;
  static constexpr std::size_t beast_read_bytes = 65536;  // the most one read asks for (Beast's)
  beast::tcp_stream stream_;
  worker& worker_;
  const server_options& options_;
  // The parser's header and body limits bound what is read; past the header, chunk framing is
  // bounded by continue_request() (bid path) or by a maximum one read above max_header_bytes
  // (admin port, see the constructor), so an oversized header still gets its 431.
  beast::flat_buffer buffer_;
  std::optional<bhttp::parser<true, bhttp::string_body, field_allocator<char>>> parser_;
  response res_;
  std::string out_;        // res_ as sent (send_response)
  write_slot write_slot_;  // the memory of write_answer's operation
  static constexpr std::size_t kept_output_bytes = 64 * 1024;
  steady_clock::time_point deadline_ = steady_clock::time_point::max();
  // The bid path's reads (continue_request) and timeouts (check_deadline).
  bool timed_out_ = false;
  // How long the request being read waited in the socket before the worker read its first bytes
  // (stamped_read_op; 0 without the kernel's receive times).
  std::chrono::nanoseconds queued_{0};
  steady_clock::time_point io_deadline_ = steady_clock::time_point::max();
  // When the request being read reached this host (start_request_clock).
  steady_clock::time_point request_started_{};
  bool busy_ = false;
  std::size_t linger_left_ = 0;
  std::size_t linger_budget_ = linger_bytes;  // of the next linger_close()
};

}  // namespace bidder::http::detail
