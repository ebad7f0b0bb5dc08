#include "bidder/browsing/url.hpp"

namespace bidder::browsing {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Strips "scheme://" (any scheme) or a protocol-relative "//".
std::string_view without_scheme(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme != std::string_view::npos && scheme > 0 && scheme <= 16) {
    bool letters = true;
    for (char c : url.substr(0, scheme)) {
      letters = letters && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
    }
    if (letters) return url.substr(scheme + 3);
  }
  if (url.starts_with("//")) return url.substr(2);
  return url;
}

void append_host(std::string_view host, std::string& out) {
  if (const std::size_t at = host.rfind('@'); at != std::string_view::npos) {
    host.remove_prefix(at + 1);  // user info
  }
  if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);  // port
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const std::size_t start = out.size();
  for (char c : host) out += lower(c);
  if (std::string_view(out).substr(start).starts_with("www.")) out.erase(start, 4);
}

}  // namespace

bool canonical_url(std::string_view url, std::string& out) {
  out.clear();
  url = without_scheme(url);
  url = url.substr(0, url.find('#'));
  const std::size_t end = url.find_first_of("/?");
  append_host(url.substr(0, end), out);
  if (out.empty()) return false;
  if (end == std::string_view::npos) {
    out += '/';
  } else {
    if (url[end] == '?') out += '/';
    out += url.substr(end);
  }
  return true;
}

std::string_view host_of_canonical(std::string_view canonical) noexcept {
  return canonical.substr(0, canonical.find_first_of("/?"));
}

std::string canonical_host(std::string_view host) {
  std::string out;
  append_host(without_scheme(host), out);
  return out;
}

bool host_within(std::string_view host, std::string_view domain) noexcept {
  if (domain.empty() || host.size() < domain.size() || !host.ends_with(domain)) return false;
  return host.size() == domain.size() || host[host.size() - domain.size() - 1] == '.';
}

}  // namespace bidder::browsing
