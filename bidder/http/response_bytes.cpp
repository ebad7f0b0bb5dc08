#include "bidder/http/response_bytes.hpp"

namespace bidder::http {

void render_response(const response& res, std::string& out) {
  const unsigned version = res.version();
  const unsigned status = res.result_int();
  // "HTTP/1.1 200 ": the version and the code are digits, written without formatting.
  char status_line[] = "HTTP/x.x xxx ";
  status_line[5] = static_cast<char>('0' + version / 10 % 10);
  status_line[7] = static_cast<char>('0' + version % 10);
  status_line[9] = static_cast<char>('0' + status / 100 % 10);
  status_line[10] = static_cast<char>('0' + status / 10 % 10);
  status_line[11] = static_cast<char>('0' + status % 10);
  const std::size_t status_line_size = sizeof status_line - 1;
  const auto reason = res.reason();
  const std::string& body = res.body();
  std::size_t size = status_line_size + reason.size() + 4 + body.size();
  for (const auto& field : res) size += field.name_string().size() + field.value().size() + 4;

  out.clear();
  out.reserve(size);
  out.append(status_line, status_line_size);
  out.append(reason.data(), reason.size());
  out.append("\r\n", 2);
  for (const auto& field : res) {
    const auto name = field.name_string();
    const auto value = field.value();
    out.append(name.data(), name.size());
    out.append(": ", 2);
    out.append(value.data(), value.size());
    out.append("\r\n", 2);
  }
  out.append("\r\n", 2);
  out.append(body);
}

}  // namespace bidder::http
