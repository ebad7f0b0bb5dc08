// File: bidder/http/detail/bid_session.hpp
//
// A bid port connection (server_options without stream_bodies): requests read whole with the
// session's own non-blocking reads, stamped with the kernel's receive time, and timed out by
// the worker's sweep rather than a timer per read (see continue_request).
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "bidder/http/detail/connection.hpp"

namespace bidder::http::detail {

class bid_session final : public session {
 public:
  bid_session(tcp::socket socket, worker& w, const server_options& options)
      : session(std::move(socket), w, options) {
    beast::error_code ignored;
    stream_.socket().non_blocking(true, ignored);  // read_some() below must not block
  }

 private:
  std::shared_ptr<bid_session> shared() {
    return std::static_pointer_cast<bid_session>(shared_from_this());
  }

  void read_next() override {
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
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared()](beast::error_code ec) {
      self->continue_request(true, ec);
    });
  }

  // A socket error as Beast's read reports it.
  beast::error_code read_error(beast::error_code ec) const {
    if (ec == asio::error::eof) {
      return parser_->got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
    }
    return ec;
  }
};

}  // namespace bidder::http::detail
