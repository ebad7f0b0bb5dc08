#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace bidder::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

struct http_client::impl {
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
  boost::beast::flat_buffer buffer;
};

http_client::http_client(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->socket.connect({asio::ip::make_address("127.0.0.1"), port});
}
http_client::~http_client() = default;

namespace {
http_reply convert(bhttp::response<bhttp::string_body>& res) {
  http_reply reply;
  reply.status = res.result_int();
  reply.body = std::move(res.body());
  reply.keep_alive = res.keep_alive();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}
}  // namespace

http_reply http_client::send(const http_call& call) {
  write(call);
  return read();
}

void http_client::write(const http_call& call) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(call.method), call.target,
                                         call.version};
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [name, value] : call.headers) req.set(name, value);
  req.body() = call.body;
  req.prepare_payload();
  bhttp::write(impl_->socket, req);
}

http_reply http_client::read() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(impl_->socket, impl_->buffer, parser);
  return convert(parser.get());
}

http_reply http_client::send_raw(const std::string& bytes) {
  asio::write(impl_->socket, asio::buffer(bytes));
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read(impl_->socket, impl_->buffer, parser);
  return convert(parser.get());
}

http_reply post(std::uint16_t port, const std::string& target, const std::string& body,
                const std::map<std::string, std::string>& headers) {
  http_client client(port);
  http_call call;
  call.target = target;
  call.body = body;
  call.headers = headers;
  return client.send(call);
}

}  // namespace bidder::test
