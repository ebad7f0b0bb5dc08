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
#include "bidder/http/detail/stamped_read_op.hpp"

namespace bidder::http::detail {

class bid_session final : public session {
 public:
  bid_session(tcp::socket socket, worker& w, const server_options& options)
      : session(std::move(socket), w, options), read_op_(w.io) {
    beast::error_code ignored;
    stream_.socket().non_blocking(true, ignored);  // read_some() below must not block
  }

 private:
  std::shared_ptr<bid_session> shared() {
    return std::static_pointer_cast<bid_session>(shared_from_this());
  }

  void read_next() override {
    // The body's string is kept from request to request (Beast's parser reserves
    // Content-Length in it: a fresh string was a malloc and a free per request).
    std::string body;
    if (parser_ && parser_->get().body().capacity() <= kept_body_bytes) {
      body = std::move(parser_->get().body());
      body.clear();
    }
    parser_.emplace();
    parser_->get().body() = std::move(body);
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
  // cancelled, and three layers of composed operations. Here each read is one recvmsg run by
  // Asio's reactor (stamped_read_op: tried at once only while the socket may hold bytes, so a
  // drained socket costs no system call until epoll reports its next bytes), feeding the
  // parser; io_deadline_ and the worker's sweep replace the timer.
  void continue_request() {
    if (buffer_.size() != 0) {
      for (;;) {
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
        break;
      }
    }
    if (timed_out_) return on_read(read_error(beast::error::timeout));
    // Beast reads max(512, free capacity) bytes at a time: from an empty buffer a typical
    // 1-3 KB bid request took 2-4 recvmsg calls. Room for one whole request takes one (and
    // a connection that never sends holds none).
    if (buffer_.capacity() < initial_read_bytes) buffer_.reserve(initial_read_bytes);
    request_starts_ = buffer_.size() == 0 && !parser_->got_some();
    read_op_.start(stream_.socket(), shared(),
                   buffer_.prepare(beast::read_size(buffer_, beast_read_bytes)));
  }

 public:
  // stamped_read_op's completion. `queued`: how long the bytes waited for the worker (the
  // kernel's receive time of the first segment; 0 without SO_TIMESTAMPNS).
  void on_stamped_read(beast::error_code ec, std::size_t got, std::chrono::nanoseconds queued) {
    if (timed_out_) ec = beast::error::timeout;  // the sweep cancelled the read
    // Asio completes a read it was given on a descriptor being shut down untouched (no bytes,
    // no error): never a reason to read again.
    if (!ec && got == 0) ec = asio::error::operation_aborted;
    if (ec) return on_read(read_error(ec));
    buffer_.commit(got);
    if (request_starts_) {
      queued_ = queued;
      start_request_clock();
    }
    continue_request();
  }

 private:
  // A socket error as Beast's read reports it.
  beast::error_code read_error(beast::error_code ec) const {
    if (ec == asio::error::eof) {
      return parser_->got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
    }
    return ec;
  }

  static constexpr std::size_t kept_body_bytes = 64 * 1024;
  stamped_read_op<bid_session> read_op_;
  bool request_starts_ = false;  // the pending read's bytes begin a request
};

}  // namespace bidder::http::detail
