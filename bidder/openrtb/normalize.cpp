#include "bidder/openrtb/normalize.hpp"

#include <algorithm>

namespace bidder::openrtb {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

enum class fold : bool { to_lower_domain, to_upper };

std::string_view without_root_dot(std::string_view domain) noexcept {
  if (domain.size() > 1 && domain.back() == '.') domain.remove_suffix(1);
  return domain;
}

// Whether `value` differs from its canonical form.
bool needs_fold(std::string_view value, fold how) noexcept {
  if (how == fold::to_lower_domain) {
    if (without_root_dot(value).size() != value.size()) return true;
    return std::any_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  }
  return std::any_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// Calls fn(view, how) for every value normalize_request folds.
template <class Fn>
void for_each_foldable(bid_request& r, Fn&& fn) {
  fn(r.domain, fold::to_lower_domain);
  for (std::string_view& d : r.badv) fn(d, fold::to_lower_domain);
  for (std::string_view& c : r.bcat) fn(c, fold::to_upper);
  for (std::string_view& c : r.content_cat) fn(c, fold::to_upper);
  for (std::string_view& c : r.cur) fn(c, fold::to_upper);
  for (imp& i : r.imps) {
    fn(i.bidfloorcur, fold::to_upper);
    for (deal& d : i.deals) fn(d.bidfloorcur, fold::to_upper);
  }
}

bool all_zero_id(std::string_view id) noexcept {
  return !id.empty() &&
         std::all_of(id.begin(), id.end(), [](char c) { return c == '0' || c == '-'; });
}

}  // namespace

std::string_view host_of_url(std::string_view url) noexcept {
  if (const std::size_t scheme = url.find("://");
      scheme != std::string_view::npos && scheme < url.find_first_of("/?#")) {
    url.remove_prefix(scheme + 3);
  } else if (url.starts_with("//")) {
    url.remove_prefix(2);
  } else {
    return {};  // no authority: a relative URL
  }
  url = url.substr(0, url.find_first_of("/?#"));
  if (const std::size_t at = url.rfind('@'); at != std::string_view::npos)
    url.remove_prefix(at + 1);
  if (url.starts_with('[')) return {};  // an IPv6 literal has no domain
  return url.substr(0, url.find(':'));
}

std::string_view bundle_of_store_url(std::string_view url) noexcept {
  const std::string_view host = host_of_url(url);
  if (host.empty()) return {};
  const std::size_t rest_at = url.find(host) + host.size();
  std::string_view rest = url.substr(rest_at);
  auto host_is = [&](std::string_view want) {
    if (host.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (lower(host[i]) != want[i]) return false;
    }
    return true;
  };
  if (host_is("play.google.com")) {
    // ...details?id=com.example.app&hl=en
    const std::size_t query = rest.find('?');
    if (query == std::string_view::npos) return {};
    std::string_view params = rest.substr(query + 1);
    params = params.substr(0, params.find('#'));
    while (!params.empty()) {
      const std::string_view param = params.substr(0, params.find('&'));
      if (param.starts_with("id=")) return param.substr(3);
      if (param.size() == params.size()) break;
      params.remove_prefix(param.size() + 1);
    }
    return {};
  }
  if (host_is("apps.apple.com") || host_is("itunes.apple.com")) {
    // .../app/some-name/id284882215?mt=8
    std::string_view path = rest.substr(0, rest.find_first_of("?#"));
    const std::size_t id = path.rfind("/id");
    if (id == std::string_view::npos) return {};
    const std::string_view digits = path.substr(id + 3);
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
    return digits;
  }
  return {};
}

void normalize_request(bid_request& r, std::string& storage) {
  if (r.lmt || r.dnt || all_zero_id(r.ifa)) r.ifa = {};
  if (r.inventory == inventory_kind::site && r.domain.empty()) r.domain = host_of_url(r.page);
  if (r.inventory == inventory_kind::app && r.bundle.empty()) {
    r.bundle = bundle_of_store_url(r.storeurl);
  }

  // Two passes: the room the folded values need, then the values, so views into `storage`
  // stay valid (it grows at most once, and not at all once warm).
  std::size_t room = 0;
  for_each_foldable(r, [&](std::string_view& v, fold how) {
    if (needs_fold(v, how)) room += v.size();
  });
  storage.clear();
  if (room == 0) return;
  storage.reserve(room);
  for_each_foldable(r, [&](std::string_view& v, fold how) {
    if (!needs_fold(v, how)) return;
    const std::size_t at = storage.size();
    if (how == fold::to_lower_domain) {
      const std::string_view d = without_root_dot(v);
      for (char c : d) storage.push_back(lower(c));
    } else {
      for (char c : v) storage.push_back(upper(c));
    }
    v = std::string_view(storage).substr(at);
  });
}

std::string canonical_domain(std::string_view domain) {
  std::string out(without_root_dot(domain));
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::string canonical_code(std::string_view code) {
  std::string out(code);
  std::transform(out.begin(), out.end(), out.begin(), upper);
  return out;
}

}  // namespace bidder::openrtb
