#include "bidder/engine/third_party_data.hpp"

#include <algorithm>

namespace bidder::engine {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `lowered` is already lower-case.
bool equals_ignoring_case(std::string_view text, std::string_view lowered) noexcept {
  return text.size() == lowered.size() && std::equal(text.begin(), text.end(), lowered.begin(),
                                                     [](char a, char b) { return lower(a) == b; });
}

}  // namespace

bool third_party_data::provider::sends(const openrtb::data_segment& s) const noexcept {
  if (!(s.origin == openrtb::data_origin::user ? from_user : from_content)) return false;
  if (!segtax.empty() && !std::binary_search(segtax.begin(), segtax.end(), s.segtax)) {
    return false;
  }
  if (data_ids.empty() && data_names.empty()) return true;
  if (!s.provider_id.empty() &&
      std::binary_search(data_ids.begin(), data_ids.end(), s.provider_id, std::less<>())) {
    return true;
  }
  return std::any_of(data_names.begin(), data_names.end(), [&](const std::string& name) {
    return equals_ignoring_case(s.provider_name, name);
  });
}

result<third_party_data> third_party_data::compile(
    const google::protobuf::RepeatedPtrField<config::v1::DataProvider>& providers,
    const segment_dictionary& segments) {
  third_party_data out;
  for (const config::v1::DataProvider& p : providers) {
    provider& compiled = out.providers_.emplace_back();
    compiled.id = p.id();
    compiled.data_ids.assign(p.data_ids().begin(), p.data_ids().end());
    std::sort(compiled.data_ids.begin(), compiled.data_ids.end());
    for (const std::string& name : p.data_names()) {
      std::string lowered(name);
      std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
      compiled.data_names.push_back(std::move(lowered));
    }
    std::sort(compiled.data_names.begin(), compiled.data_names.end());
    compiled.segtax.assign(p.segtax().begin(), p.segtax().end());
    std::sort(compiled.segtax.begin(), compiled.segtax.end());
    compiled.from_user = p.origin() != config::v1::DataProvider::CONTENT;
    compiled.from_content = p.origin() != config::v1::DataProvider::USER;
  }
  for (segment_id id = 0; id < segments.size(); ++id) {
    const std::string_view name = segments.name(id);
    if (!name.starts_with(third_party_prefix)) continue;
    const std::string_view rest = name.substr(third_party_prefix.size());
    const std::size_t colon = rest.find(':');
    const std::string_view provider_id = rest.substr(0, colon);
    const std::string_view segment =
        colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    auto it = std::find_if(out.providers_.begin(), out.providers_.end(),
                           [&](const provider& p) { return p.id == provider_id; });
    if (it == out.providers_.end()) {
      std::string known;
      for (const provider& p : out.providers_) known += (known.empty() ? "" : ", ") + p.id;
      return make_error(
          errc::invalid_config,
          "segment \"" + std::string(name) + "\": no data provider \"" + std::string(provider_id) +
              "\" in data_providers (known: " + (known.empty() ? "none" : known) + ")");
    }
    if (segment.empty()) {
      return make_error(errc::invalid_config,
                        "segment \"" + std::string(name) +
                            "\": name a provider's segment as \"3p:<provider id>:<segment id>\"");
    }
    it->segments.emplace(std::string(segment), id);
    ++out.used_;
  }
  return out;
}

void third_party_data::collect(const openrtb::bid_request& request, unix_seconds now,
                               std::vector<segment_membership>& out) const {
  // Consecutive segments mostly share their Data object, so its providers are matched once per
  // object rather than once per segment.
  const openrtb::data_segment* previous = nullptr;
  std::uint64_t matched = 0;  // bit i: providers_[i] sends the current object (first 64)
  for (const openrtb::data_segment& s : request.data_segments) {
    if (previous == nullptr || s.provider_id != previous->provider_id ||
        s.provider_name != previous->provider_name || s.segtax != previous->segtax ||
        s.origin != previous->origin) {
      matched = 0;
      for (std::size_t i = 0; i < providers_.size() && i < 64; ++i) {
        if (!providers_[i].segments.empty() && providers_[i].sends(s)) {
          matched |= std::uint64_t{1} << i;
        }
      }
      previous = &s;
    }
    for (std::uint64_t bits = matched; bits != 0; bits &= bits - 1) {
      const provider& p = providers_[static_cast<std::size_t>(__builtin_ctzll(bits))];
      if (auto it = p.segments.find(s.id); it != p.segments.end()) {
        out.push_back({it->second, now});
      }
    }
  }
}

}  // namespace bidder::engine
