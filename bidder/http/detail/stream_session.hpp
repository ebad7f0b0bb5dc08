// File: bidder/http/detail/stream_session.hpp
//
// An admin port connection (server_options::stream_bodies): each request's header is read
// first and offered to handler::open_stream, which may take the body as a stream of chunks (an
// audience upload of any size in bounded memory) finished on the worker's offload thread, have
// it read whole, or answer at once.
#pragma once

#include "bidder/http/detail/connection.hpp"

namespace bidder::http::detail {

class stream_session final : public session {
 public:
  stream_session(tcp::socket socket, worker& w, const server_options& options)
      : session(std::move(socket), w, options) {
    buffer_.reserve(initial_read_bytes);
    // Beast bounds neither a chunk-size line's extensions nor the trailers: "1;" and endless
    // bytes would grow this buffer for the whole idle timeout. Past the header its parser
    // takes body bytes as they arrive and leaves at most one read (64 KiB) when a streamed
    // chunk is full, so anything beyond is framing, and Beast's reads fail with
    // buffer_overflow (answered 400, as bid_session's continue_request() does).
    buffer_.max_size(options_.max_header_bytes + beast_read_bytes);
  }

 private:
  std::shared_ptr<stream_session> shared() {
    return std::static_pointer_cast<stream_session>(shared_from_this());
  }
  void read_next() override { read_header(); }
  bool reading() const override {
    return session::reading() || (header_parser_ && header_parser_->got_some()) ||
           stream_parser_.has_value();
  }

  // ---- stream_bodies: the header first, then the body whole or as a stream ----------------
  void read_header() {
    // The last request's parser has got_some() and would make an idle keep-alive connection
    // (a scraper's) look mid-request to drain(), holding a stop for its whole grace.
    parser_.reset();
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    // Beast checks a Content-Length against the body limit as it reads the header (its default
    // is 1 MiB): allow the largest body either path takes; read_whole checks its own below.
    header_parser_->body_limit(
        std::max<std::uint64_t>(options_.max_body_bytes, options_.max_streamed_body_bytes));
    stream_.expires_after(options_.idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = shared()](beast::error_code ec, std::size_t) { self->on_header(ec); });
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
            [self = shared()](beast::error_code ec, std::size_t) { self->on_read(ec); });
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
    bhttp::async_write(stream_, *continue_, [self = shared()](beast::error_code ec, std::size_t) {
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
    bhttp::async_read(stream_, buffer_, *stream_parser_,
                      [self = shared()](beast::error_code ec, std::size_t) { self->on_chunk(ec); });
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
    worker_.offload->run_later(
        [self = shared(), keep_alive, guard = asio::make_work_guard(worker_.io)]() mutable {
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
    send_response(options_.idle_timeout,
                  [self = shared()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  // stream_bodies only: the header is read first, then the body whole (parser_) or streamed.
  std::optional<bhttp::parser<true, bhttp::empty_body, field_allocator<char>>> header_parser_;
  std::optional<bhttp::parser<true, bhttp::buffer_body, field_allocator<char>>> stream_parser_;
  std::unique_ptr<body_stream> body_stream_;
  std::vector<char> chunk_;  // where a streamed body is read, stream_chunk_bytes at a time
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
};

}  // namespace bidder::http::detail
