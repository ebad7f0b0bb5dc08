#include "bidder/app/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <optional>

#include "bidder/core/asio_wait.hpp"

namespace bidder::app {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

result<admin_target> parse_admin_url(std::string_view url) {
  if (url.starts_with("http://")) url.remove_prefix(7);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const std::size_t colon = url.rfind(':');
  if (url.starts_with("https://") || colon == std::string_view::npos || colon == 0 ||
      colon + 1 == url.size()) {
    return make_error(errc::invalid_config,
                      "admin URL \"" + std::string(url) + "\": expected http://HOST:PORT");
  }
  admin_target target;
  target.host = std::string(url.substr(0, colon));
  target.port = std::string(url.substr(colon + 1));
  if (target.host.size() > 2 && target.host.front() == '[') {
    target.host = target.host.substr(1, target.host.size() - 2);
  }
  return target;
}

result<admin_reply> admin_call(const admin_target& target, std::string_view method,
                               std::string_view path, std::string body) {
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    asio::ip::tcp::socket socket(io);
    asio::connect(socket, resolver.resolve(target.host, target.port));
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), path, 11};
    req.set(bhttp::field::host, target.host);
    req.set(bhttp::field::user_agent, "bidder-cli");
    if (!target.token.empty()) req.set(bhttp::field::authorization, "Bearer " + target.token);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket, req);
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::size_t{64} << 20);
    bhttp::read(socket, buffer, parser);
    boost::system::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return admin_reply{parser.get().result_int(), std::move(parser.get().body())};
  } catch (const std::exception& e) {
    return make_error(errc::io_error, "admin API at " + target.host + ":" + target.port + ": " +
                                          e.what() + " (is `bidder serve` running?)");
  }
}

namespace {
// Largest answer read back (a push's JSON summary with up to 100 listed errors is a few KB).
constexpr std::size_t max_reply_bytes = std::size_t{64} << 20;
}  // namespace

result<admin_reply> admin_upload(const admin_target& target, std::string_view method,
                                 std::string_view path, const chunk_source& next,
                                 std::chrono::milliseconds continue_wait) {
  const std::string where = "admin API at " + target.host + ":" + target.port + ": ";
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  try {
    asio::ip::tcp::resolver resolver(io);
    asio::connect(socket, resolver.resolve(target.host, target.port));
  } catch (const std::exception& e) {
    return make_error(errc::io_error, where + e.what() + " (is `bidder serve` running?)");
  }
  bool read_answer_after_body = false;  // the connection can no longer cut the push
  try {
    bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(method), path, 11};
    req.set(bhttp::field::host, target.host);
    req.set(bhttp::field::user_agent, "bidder-cli");
    req.set(bhttp::field::expect, "100-continue");
    if (!target.token.empty()) req.set(bhttp::field::authorization, "Bearer " + target.token);
    req.chunked(true);
    bhttp::request_serializer<bhttp::empty_body> header(req);
    bhttp::write_header(socket, header);
    boost::beast::flat_buffer buffer;
    {
      // The 100 or a refusal, waited for at most continue_wait.
      bhttp::response_parser<bhttp::string_body> first;
      first.body_limit(max_reply_bytes);
      bool answered = false;
      boost::system::error_code read_error;
      bhttp::async_read(socket, buffer, first, [&](boost::system::error_code ec, std::size_t) {
        answered = true;
        read_error = ec;
      });
      run_until(io, std::chrono::steady_clock::now() + continue_wait, answered);
      if (!answered) {
        socket.cancel();  // no answer: an older server that reads the body without a 100
        io.restart();
        io.run();
        buffer.clear();  // nothing came (a partial answer would have been a full one by now)
      } else if (read_error) {
        throw boost::system::system_error(read_error);
      } else if (first.get().result() != bhttp::status::continue_) {  // refused before the body
        return admin_reply{first.get().result_int(), std::move(first.get().body())};
      }
    }
    // The answer: read at the end, or while sending when the server answers a refused push
    // (too many bad lines...) before the body ends and reads no more of it.
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    auto read_response = [&] {  // true: the answer; false: a (late) 100 Continue
      parser.emplace();
      parser->body_limit(max_reply_bytes);
      bhttp::read(socket, buffer, *parser);
      return parser->get().result() != bhttp::status::continue_;
    };
    auto read_answer = [&] {
      while (!read_response()) {
      }
    };
    std::string chunk;
    bool answered_early = false;
    while (true) {
      if (socket.available() > 0 && read_response()) {  // an early answer (or a late 100)
        answered_early = true;
        break;
      }
      chunk.clear();
      auto more = next(chunk);
      if (!more) return more.error();  // closing the socket cuts the upload: nothing applied
      if (!chunk.empty()) {
        boost::system::error_code write_error;
        asio::write(socket, bhttp::make_chunk(asio::buffer(chunk)), write_error);
        if (write_error) {  // closed by the server: its answer may be waiting
          read_answer();
          answered_early = true;
          break;
        }
      }
      if (!*more) break;
    }
    if (!answered_early) {
      boost::system::error_code write_error;  // closed after an early answer: read it anyway
      asio::write(socket, bhttp::make_chunk_last(), write_error);
      read_answer_after_body = !write_error;
      read_answer();
    }
    boost::system::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return admin_reply{parser->get().result_int(), std::move(parser->get().body())};
  } catch (const std::exception& e) {
    if (read_answer_after_body) {
      // The whole file was sent: the bidder may have applied it before the connection went
      // (e.g. it was stopped while applying).
      return make_error(errc::io_error,
                        where + "connection lost after the upload (" + e.what() +
                            "); the push may or may not have been applied: check `bidder "
                            "audience list`");
    }
    return make_error(errc::io_error, where + "connection lost during the upload (" + e.what() +
                                          "); the bidder applied nothing");
  }
}

}  // namespace bidder::app
