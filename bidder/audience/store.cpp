#include "bidder/audience/store.hpp"

#include "bidder/audience/user_key.hpp"
#include "bidder/core/codec.hpp"

namespace bidder::audience {
namespace {
template <class Membership>
void encode_all(std::span<const Membership> memberships, std::string& out) {
  out.clear();
  for (const Membership& m : memberships) {
    put_varint(out, m.segment.size());
    out += m.segment;
    put_varint(out, static_cast<std::uint64_t>(m.last_seen < 0 ? 0 : m.last_seen));
    put_varint(out, static_cast<std::uint64_t>(m.expires_at < 0 ? 0 : m.expires_at));
  }
}
}  // namespace

void encode_memberships(std::span<const membership> memberships, std::string& out) {
  encode_all(memberships, out);
}

void encode_memberships(std::span<const membership_view> memberships, std::string& out) {
  encode_all(memberships, out);
}

bool decode_memberships(std::string_view value, unix_seconds now,
                        std::vector<membership_view>& out) noexcept {
  const std::size_t first = out.size();
  while (!value.empty()) {
    std::uint64_t length = 0, seen = 0, expires = 0;
    if (!get_varint(value, length) || length > value.size()) {
      out.resize(first);
      return false;
    }
    std::string_view segment = value.substr(0, length);
    value.remove_prefix(length);
    if (!get_varint(value, seen) || !get_varint(value, expires) ||
        seen > static_cast<std::uint64_t>(INT64_MAX) ||
        expires > static_cast<std::uint64_t>(INT64_MAX)) {
      out.resize(first);
      return false;
    }
    const auto expires_at = static_cast<unix_seconds>(expires);
    if (now != 0 && expires_at != 0 && expires_at <= now) continue;  // expired: invisible
    out.push_back({segment, static_cast<unix_seconds>(seen), expires_at});
  }
  return true;
}

void make_user_key(id_namespace ns, std::string_view source, std::string_view id,
                   std::string& out) {
  out.clear();
  switch (ns) {
    case id_namespace::buyeruid:
      out += "buyeruid:";
      break;
    case id_namespace::user:
      out += "user:";
      break;
    case id_namespace::ifa:
      out += "ifa:";
      break;
    case id_namespace::eid:
      out += "eid:";
      out += source;
      out += ':';
      break;
  }
  out += id;
}

}  // namespace bidder::audience
