#include "bidder/pricing/registry.hpp"

namespace bidder::pricing {

result<void> registry::add(std::unique_ptr<factory> f) {
  if (!f || f->name().empty()) {
    return make_error(errc::invalid_config, "pricing model factory without a name");
  }
  std::string name(f->name());
  if (factories_.contains(name)) {
    return make_error(errc::duplicate, "pricing model \"" + name + "\" is registered twice");
  }
  factories_.emplace(std::move(name), std::move(f));
  return {};
}

const factory* registry::find(std::string_view name) const noexcept {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> registry::names() const {
  std::vector<std::string> out;
  out.reserve(factories_.size());
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

}  // namespace bidder::pricing
