#include "bidder/http/server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
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
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "bidder/core/background_thread.hpp"
#include "bidder/http/busy_meter.hpp"
#include "bidder/http/response_bytes.hpp"

namespace bidder::http {
namespace {

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

class session : public session_link, public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, worker& w, const server_options& options)
      : stream_(std::move(socket)), worker_(w), options_(options) {
    if (options_.stream_bodies) {
      buffer_.reserve(initial_read_bytes);  // see continue_request()
      // Beast bounds neither a chunk-size line's extensions nor the trailers: "1;" and endless
      // bytes would grow this buffer for the whole idle timeout. Past the header its parser
      // takes body bytes as they arrive and leaves at most one read (64 KiB) when a streamed
      // chunk is full, so anything beyond is framing, and Beast's reads fail with
      // buffer_overflow (answered 400, as continue_request() does for the bid path).
      buffer_.max_size(options_.max_header_bytes + beast_read_bytes);
    } else {
      beast::error_code ignored;
      stream_.socket().non_blocking(true, ignored);  // read_some() below must not block
    }
    worker_.sessions.add(*this);
  }
  ~session() { worker_.sessions.remove(*this); }

  void start() { read_next(); }

  // At the end of a drain: closes the socket so every pending operation completes now.
  void force_close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  // Called on the worker thread when the server drains: an idle connection closes now, a busy
  // one after its current answer.
  void drain() {
    const bool reading = (parser_ && parser_->got_some()) ||
                         (header_parser_ && header_parser_->got_some()) || stream_parser_;
    if (!busy_ && !reading) {
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

 private:
  void read_next() {
    if (options_.stream_bodies) return read_header();
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_->eager(true);
    if (buffer_.size() != 0) {
      start_request_clock();  // pipelined: the bytes came with the previous request's
    } else {
      io_deadline_ = steady_clock::now() + options_.idle_timeout;
    }
    continue_request();
  }

  // A request arrived whole (or a streamed body's chunk): the last to be evicted at the cap.
  void made_progress() { worker_.sessions.completed_request(*this); }

  // The bid path: the request's clock starts at its first byte's arrival at this host; it must
  // be read whole by request_timeout after it (check_deadline).
  void start_request_clock() {
    request_started_ =
        steady_clock::now() - std::chrono::duration_cast<steady_clock::duration>(queued_);
    io_deadline_ = request_started_ + options_.request_timeout;
  }

  // ---- the bid path's reads: the socket itself, not Beast's async_read ---------------------
  // Beast's async_read costs, per request, a recvmsg that finds nothing (EAGAIN: Asio tries a
  // read before it waits, and the next request has not been sent yet), a timer armed and
  // cancelled, and three layers of composed operations. Here the session waits until the socket
  // is readable, reads what it holds without blocking and feeds the parser; io_deadline_ and
  // the worker's sweep replace the timer. (Asio queues a wait without trying a read and re-arms
  // the socket's edge-triggered epoll registration for it, so bytes that arrived before the wait
  // are reported too.)
  // `readable`: a wait has just completed, with `wait_error`.
  void continue_request(bool readable = false, beast::error_code wait_error = {}) {
    for (;;) {
      if (buffer_.size() != 0) {
        beast::error_code ec;
        const std::size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec && ec != bhttp::error::need_more) return on_read(ec);
        // Refused from the header, not after a body of up to max_body_bytes.
        if (parser_->is_header_done() && unsupported_transfer_coding(*parser_)) {
          return refuse(bhttp::status::not_implemented, std::string(unsupported_coding));
        }
        if (parser_->is_done()) return on_read({});
        if (used != 0 && buffer_.size() != 0) continue;
        // Past the header the eager parser takes body bytes as they come: what piles up is
        // chunk framing (a chunk-size line's extensions, trailers), which Beast does not bound.
        if (parser_->is_header_done() && buffer_.size() > options_.max_header_bytes) {
          return on_read(bhttp::error::buffer_overflow);
        }
      }
      if (!readable) return wait_readable();
      beast::error_code ec = timed_out_ ? beast::error::timeout : wait_error;
      std::size_t want = 0, got = 0;
      if (!ec) {
        // Beast reads max(512, free capacity) bytes at a time: from an empty buffer a typical
        // 1-3 KB bid request took 2-4 recvmsg calls. Room for one whole request takes one (and
        // a connection that never sends holds none).
        if (buffer_.capacity() < initial_read_bytes) buffer_.reserve(initial_read_bytes);
        want = beast::read_size(buffer_, beast_read_bytes);
        const bool request_starts = buffer_.size() == 0 && !parser_->got_some();
        got = read_some_stamped(buffer_.prepare(want), ec, request_starts);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          return wait_readable();
        }
        if (!ec) {
          buffer_.commit(got);
          if (request_starts) start_request_clock();
        }
      }
      if (ec) return on_read(read_error(ec));
      readable = got == want;  // more may be there: read again rather than wait
    }
  }

  // The socket's read_some() by hand (one recvmsg, as Asio's), to get the kernel's receive time
  // with the bytes when the socket has SO_TIMESTAMPNS. `request_starts`: the bytes begin a
  // request, and set queued_ (0 when the kernel gave no time).
  std::size_t read_some_stamped(asio::mutable_buffer into, beast::error_code& ec,
                                bool request_starts) {
    iovec iov{into.data(), into.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = 0;
    do {
      n = ::recvmsg(stream_.socket().native_handle(), &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      ec = (errno == EAGAIN || errno == EWOULDBLOCK)
               ? beast::error_code(asio::error::would_block)
               : beast::error_code(errno, boost::system::system_category());
      return 0;
    }
    if (n == 0) {
      ec = asio::error::eof;
      return 0;
    }
    if (request_starts) {
      queued_ = std::chrono::nanoseconds::zero();
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec received{};
        std::memcpy(&received, CMSG_DATA(c), sizeof received);
        timespec now{};
        ::clock_gettime(CLOCK_REALTIME, &now);
        const auto waited = std::chrono::seconds(now.tv_sec - received.tv_sec) +
                            std::chrono::nanoseconds(now.tv_nsec - received.tv_nsec);
        // A wall clock stepped back (or far forward) between the two readings: no figure.
        if (waited > std::chrono::nanoseconds::zero() && waited < std::chrono::seconds(10)) {
          queued_ = waited;
        }
      }
    }
    return static_cast<std::size_t>(n);
  }

  void wait_readable() {
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this()](beast::error_code ec) { self->continue_request(true, ec); });
  }

  // A socket error as Beast's read reports it.
  beast::error_code read_error(beast::error_code ec) const {
    if (ec == asio::error::eof) {
      return parser_->got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
    }
    return ec;
  }

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

  // ---- stream_bodies: the header first, then the body whole or as a stream ----------------
  void read_header() {
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    // Beast checks a Content-Length against the body limit as it reads the header (its default
    // is 1 MiB): allow the largest body either path takes; read_whole checks its own below.
    header_parser_->body_limit(
        std::max<std::uint64_t>(options_.max_body_bytes, options_.max_streamed_body_bytes));
    stream_.expires_after(options_.idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec, header_parser_->got_some());
    if (unsupported_transfer_coding(*header_parser_)) {
      header_parser_.reset();
      return refuse(bhttp::status::not_implemented, std::string(unsupported_coding));
    }
    res_.clear();
    res_.body().clear();
    res_.version(header_parser_->get().version());
    res_.result(bhttp::status::ok);
    switch (worker_.serve->open_stream(header_parser_->get(), res_, body_stream_)) {
      case stream_decision::read_whole: {
        // A declared length over the limit is refused before a byte of it is read (the body
        // would reserve it whole).
        if (auto length = header_parser_->content_length();
            length && *length > options_.max_body_bytes) {
          header_parser_.reset();
          return refuse(bhttp::status::payload_too_large, "request body too large\n");
        }
        parser_.emplace(std::move(*header_parser_));
        header_parser_.reset();
        parser_->body_limit(options_.max_body_bytes);
        if (parser_->is_done()) return on_read({});
        bhttp::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
        return;
      }
      case stream_decision::answered: {
        // With a body left unread, the byte stream is not at a request boundary: close after.
        const bool keep_alive = header_parser_->is_done() && header_parser_->get().keep_alive();
        header_parser_.reset();
        body_stream_.reset();
        return write_answer(keep_alive);
      }
      case stream_decision::stream:
        break;
    }
    const bool expects_continue =
        beast::iequals(header_parser_->get()[bhttp::field::expect], "100-continue");
    stream_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    stream_parser_->body_limit(options_.max_streamed_body_bytes);
    chunk_.resize(options_.stream_chunk_bytes);
    if (!expects_continue) return read_chunk();
    // RFC 9110 section 10.1.1: the client waits for this before it sends the body.
    continue_.emplace(bhttp::status::continue_, 11);
    stream_.expires_after(options_.idle_timeout);
    bhttp::async_write(stream_, *continue_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->continue_.reset();
                         if (ec) return self->abort_stream(), self->close();
                         self->read_chunk();
                       });
  }

  void read_chunk() {
    auto& body = stream_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    stream_.expires_after(options_.idle_timeout);
    bhttp::async_read(
        stream_, buffer_, *stream_parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_chunk(ec); });
  }

  void on_chunk(beast::error_code ec) {
    if (ec == bhttp::error::need_buffer) ec = {};  // the chunk buffer is full: hand it over
    if (ec) {
      abort_stream();
      return on_read_error(ec, true);
    }
    const std::size_t filled = chunk_.size() - stream_parser_->get().body().size;
    if (filled > 0) {
      body_stream_->on_chunk(std::string_view(chunk_.data(), filled));
      made_progress();
    }
    bool keep_alive = stream_parser_->get().keep_alive();
    if (!stream_parser_->is_done()) {
      if (!body_stream_->stop_reading()) return read_chunk();
      // Stopped early, the byte stream is not at a request boundary: close after the answer,
      // draining what is still in flight (a client sending a large upload: a few MB).
      keep_alive = false;
      linger_budget_ = stopped_upload_linger_bytes;
    }
    busy_ = true;
    stream_parser_.reset();
    chunk_.clear();
    chunk_.shrink_to_fit();
    res_.clear();
    res_.body().clear();
    res_.result(bhttp::status::ok);
    // finish() may take seconds (a push is sorted and applied there): it runs on the offload
    // thread, the session waiting with no operation pending, and its answer comes back here.
    // The work guard keeps `io` running (and a drain waiting) until then.
    worker_.offload->run_later([self = shared_from_this(), keep_alive,
                                guard = asio::make_work_guard(worker_.io)]() mutable {
      self->body_stream_->finish(self->res_);
      asio::post(guard.get_executor(), [self = std::move(self), keep_alive] {
        self->body_stream_.reset();
        self->write_answer(keep_alive);
      });
    });
  }

  // A cut request: the stream is destroyed without finish() and so leaves no trace.
  void abort_stream() {
    body_stream_.reset();
    stream_parser_.reset();
  }

  // Writes res_ (filled by the handler) with no deadline.
  void write_answer(bool keep_alive) {
    busy_ = true;
    deadline_ = steady_clock::time_point::max();
    res_.version(11);
    res_.keep_alive(keep_alive && !worker_.draining);
    if (!keep_alive) res_.set(bhttp::field::connection, "close");
    res_.prepare_payload();
    send_response(
        options_.idle_timeout,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
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
    send_response(
        options_.idle_timeout,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
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
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  // stream_bodies only: the header is read first, then the body whole (parser_) or streamed.
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  std::unique_ptr<body_stream> body_stream_;
  std::vector<char> chunk_;  // where a streamed body is read, stream_chunk_bytes at a time
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  response res_;
  std::string out_;  // res_ as sent (send_response)
  static constexpr std::size_t kept_output_bytes = 64 * 1024;
  steady_clock::time_point deadline_ = steady_clock::time_point::max();
  // The bid path's reads (continue_request) and timeouts (check_deadline).
  bool timed_out_ = false;
  // How long the request being read waited in the socket before the worker read its first bytes
  // (read_some_stamped; 0 without the kernel's receive times).
  std::chrono::nanoseconds queued_{0};
  steady_clock::time_point io_deadline_ = steady_clock::time_point::max();
  // When the request being read reached this host (start_request_clock).
  steady_clock::time_point request_started_{};
  bool busy_ = false;
  std::size_t linger_left_ = 0;
  std::size_t linger_budget_ = linger_bytes;  // of the next linger_close()
};

// At the connection cap: closes the connection with the least progress (the front of the
// worker's list, skipping the few that are answering a request). False if none may go.
bool make_room(worker& w) {
  // Those answering are few (a worker answers one request at a time; writes to slow readers are
  // bounded by idle_timeout): looking at the first 64 finds one to close, or none is.
  int left_to_look_at = 64;
  bool evicted = false;
  w.sessions.find_first([&](session_link& link) {
    auto& s = static_cast<session&>(link);
    if (s.evictable()) {
      s.evict();
      evicted = true;
    }
    return evicted || --left_to_look_at == 0;
  });
  return evicted;
}

// The connections one worker may hold: the configured cap, lowered so that all workers together
// stay under the process's descriptor limit with room for the rest of the process (stores, event
// log, the admin port), so a flood meets the cap and its eviction rather than EMFILE.
std::size_t effective_connection_cap(const server_options& options) {
  constexpr rlim_t kept_for_the_process = 1024;
  rlimit limit{};
  std::size_t cap = options.max_connections_per_thread;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    const rlim_t usable = limit.rlim_cur > 2 * kept_for_the_process
                              ? limit.rlim_cur - kept_for_the_process
                              : limit.rlim_cur / 2;
    cap = std::min<std::size_t>(cap, usable / std::max(1u, options.threads));
  }
  return std::max<std::size_t>(cap, 1);
}

void accept_next(worker& w, const server_options& options) {
  w.acceptor->async_accept([&w, &options](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) return;
    if (ec) {
      // e.g. EMFILE: retrying at once would spin a core while nothing can be accepted.
      w.accept_retry->expires_after(std::chrono::milliseconds(50));
      w.accept_retry->async_wait([&w, &options](beast::error_code wait_ec) {
        if (!wait_ec && w.acceptor->is_open()) accept_next(w, options);
      });
      return;
    }
    beast::error_code ignored;
    if (w.sessions.size() >= w.connection_cap && !make_room(w)) {
      socket.close(ignored);  // every connection is busy answering: refuse the newcomer
    } else {
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<session>(std::move(socket), w, options)->start();
    }
    accept_next(w, options);
  });
}

// Cancels the bid path's reads and writes past their deadline (session::check_deadline), a
// look at each session every `period`: one timer per worker instead of one armed and cancelled
// for every read and write.
void sweep_timeouts(worker& w, steady_clock::duration period) {
  w.sweep->expires_after(period);
  w.sweep->async_wait([&w, period](beast::error_code ec) {
    if (ec || w.draining) return;
    const auto now = steady_clock::now();
    w.sessions.find_first([now](session_link& s) {
      static_cast<session&>(s).check_deadline(now);
      return false;
    });
    sweep_timeouts(w, period);
  });
}

}  // namespace

struct server::impl {
  server_options options;
  std::function<std::unique_ptr<handler>(unsigned)> make_handler;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::uint16_t port = 0;
  bool started = false;
  bool draining = false;
  bool drained = false;
};

server::server(server_options options,
               std::function<std::unique_ptr<handler>(unsigned)> make_handler)
    : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.threads == 0) impl_->options.threads = 1;
  impl_->make_handler = std::move(make_handler);
}

server::~server() { drain(std::chrono::milliseconds(1000)); }

result<void> server::start() {
  impl& self = *impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(self.options.host, ec);
  if (ec)
    return make_error(errc::invalid_config, "bad listen address \"" + self.options.host + "\"");
  std::uint16_t port = self.options.port;
  for (unsigned i = 0; i < self.options.threads; ++i) {
    auto w = std::make_unique<worker>(self.options);
    w->connection_cap = effective_connection_cap(self.options);
    w->serve = self.make_handler(i);
    tcp::acceptor& acceptor = w->acceptor.emplace(w->io);
    const tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && self.options.threads > 1) {
      // Every worker binds the same port; the kernel spreads connections across them. (Only
      // then: SO_REUSEPORT would also let a second process share the port silently, so a
      // single-acceptor server such as the admin port keeps failing loudly on a busy port.)
      const int one = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec && !self.options.stream_bodies && self.options.shed_queued.count() > 0) {
      // The kernel stamps each segment with the time it arrived (CLOCK_REALTIME); the session's
      // reads return it (read_some_stamped), telling how long a request waited for its worker.
      // Set on the listener, which each accepted socket inherits it from, so that the bytes that
      // arrive before the worker accepts the connection (a new connection's first request while
      // the worker is busy) are stamped too. Best effort: without stamps every request counts
      // as not having waited.
      const int on = 1;
      ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return make_error(errc::io_error, "cannot listen on " + self.options.host + ":" +
                                            std::to_string(port) + ": " + ec.message());
    }
    port = acceptor.local_endpoint().port();  // with port 0, the others join the first's port
    self.workers.push_back(std::move(w));
  }
  self.port = port;
  for (auto& w : self.workers) {
    self.guards.emplace_back(asio::make_work_guard(w->io));
    w->accept_retry.emplace(w->io);
    accept_next(*w, self.options);
    if (!self.options.stream_bodies) {
      // Timeouts fire up to a quarter of the shorter timeout (at most 250 ms) late.
      w->sweep.emplace(w->io);
      const auto shortest = std::min(self.options.idle_timeout, self.options.request_timeout);
      sweep_timeouts(*w,
                     std::clamp<steady_clock::duration>(shortest / 4, std::chrono::milliseconds(1),
                                                        std::chrono::milliseconds(250)));
    }
    w->thread = std::thread([wp = w.get(), background = self.options.background_threads] {
      if (background) {
        yield_to_bid_threads(background_priority::idle);
      } else {
        prefer_short_slices();
      }
      wp->busy.open_for_this_thread();
      wp->io.run();
    });
  }
  self.started = true;
  return {};
}

std::uint16_t server::port() const noexcept { return impl_->port; }

void server::drain(std::chrono::milliseconds grace) {
  begin_drain();
  finish_drain(steady_clock::now() + grace);
}

void server::begin_drain() {
  impl& self = *impl_;
  if (!self.started || self.draining) return;
  self.draining = true;
  for (auto& w : self.workers) {
    asio::post(w->io, [wp = w.get()] {
      wp->draining = true;
      beast::error_code ignored;
      wp->acceptor->close(ignored);
      wp->accept_retry->cancel();
      if (wp->sweep) wp->sweep->cancel();
      wp->sessions.find_first([](session_link& s) {
        static_cast<session&>(s).drain();
        return false;
      });
    });
  }
  for (auto& guard : self.guards) guard.reset();
}

void server::finish_drain(steady_clock::time_point until) {
  impl& self = *impl_;
  if (!self.started || self.drained) return;
  begin_drain();
  self.drained = true;
  // Wait for the workers to run out of work, then cut what is left.
  for (auto& w : self.workers) {
    while (!w->io.stopped() && steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    w->io.stop();
  }
  for (auto& w : self.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Sessions cut at the deadline still sit in their io_context: close their sockets and let
  // their handlers run once, so each is destroyed while its worker is still alive.
  for (auto& w : self.workers) {
    w->sessions.find_first([](session_link& s) {
      static_cast<session&>(s).force_close();
      return false;
    });
    w->io.restart();
    w->io.poll();
  }
}

result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return make_error(errc::invalid_config,
                      "\"" + std::string(text) + "\": expected HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const std::string_view digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port > 65535) {
    return make_error(errc::invalid_config, "\"" + std::string(text) + "\": bad port");
  }
  if (host.empty()) host = "0.0.0.0";
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(port));
}

}  // namespace bidder::http
