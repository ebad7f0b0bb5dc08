#include "bidder/app/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

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

}  // namespace bidder::app
