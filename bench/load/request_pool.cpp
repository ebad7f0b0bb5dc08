#include "bench/load/request_pool.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bidder::bench {

result<http_target> parse_target(std::string_view url) {
  http_target t;
  t.url = std::string(url);
  auto bad = [&](std::string_view why) {
    return make_error(errc::invalid_field, "target \"" + std::string(url) +
                                               "\": " + std::string(why) +
                                               " (expected e.g. http://127.0.0.1:8080/bid)");
  };
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, 8) == "https://") return bad("https is not supported");
  if (url.substr(0, scheme.size()) != scheme) return bad("must start with http://");
  std::string_view rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [IPv6] address");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("expected :port after ]");
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return bad("the host must be a numeric IP address or localhost");
  t.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (perr != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("bad port");
    }
    t.port = static_cast<std::uint16_t>(value);
  }
  return t;
}

result<std::vector<request_body>> load_request_dir(const std::string& dir,
                                                   std::chrono::milliseconds default_tmax) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file()) files.push_back(it->path());
  }
  if (ec) return make_error(errc::io_error, "--requests " + dir + ": " + ec.message());
  if (files.empty()) return make_error(errc::not_found, "--requests " + dir + ": no *.json file");
  std::sort(files.begin(), files.end());
  std::vector<request_body> bodies;
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return make_error(errc::io_error, path.string() + ": cannot read");
    request_body body{path.filename().string(), text.str(), default_tmax};
    boost::system::error_code jec;
    const boost::json::value doc = boost::json::parse(body.json, jec);
    if (jec || !doc.is_object()) {
      return make_error(errc::invalid_field,
                        path.string() + ": not a JSON object" + (jec ? ": " + jec.message() : ""));
    }
    if (const auto* tmax = doc.as_object().if_contains("tmax");
        tmax && tmax->is_int64() && tmax->as_int64() > 0) {
      body.tmax = std::chrono::milliseconds(tmax->as_int64());
    }
    bodies.push_back(std::move(body));
  }
  return bodies;
}

std::vector<request_body> generate_requests(traffic_generator& generator, std::size_t count) {
  std::vector<request_body> bodies;
  bodies.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    bodies.push_back({"generated #" + std::to_string(i + 1), generator.next_request(),
                      generator.options().tmax});
  }
  return bodies;
}

request_pool prepare_requests(const http_target& target, const std::vector<request_body>& bodies) {
  const bool v6 = target.host.find(':') != std::string::npos;
  const std::string host =
      (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
  request_pool pool;
  pool.reserve(bodies.size());
  for (const request_body& body : bodies) {
    prepared_request r;
    r.tmax = body.tmax;
    r.bytes.reserve(body.json.size() + 200);
    r.bytes += "POST ";
    r.bytes += target.path;
    r.bytes += " HTTP/1.1\r\nHost: ";
    r.bytes += host;
    r.bytes +=
        "\r\nUser-Agent: bidbench\r\nContent-Type: application/json\r\n"
        "x-openrtb-version: 2.6\r\nContent-Length: ";
    r.bytes += std::to_string(body.json.size());
    r.bytes += "\r\n\r\n";
    r.bytes += body.json;
    pool.push_back(std::move(r));
  }
  return pool;
}

}  // namespace bidder::bench
