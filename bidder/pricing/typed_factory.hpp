// File: bidder/pricing/typed_factory.hpp
//
// Unpacks a `google.protobuf.Any` into the model's own config proto and hands it to
// `create_typed()`. See factory.hpp for an example.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>

#include "bidder/pricing/factory.hpp"

namespace bidder::pricing {

template <class ConfigProto>
class typed_factory : public factory {
 public:
  explicit typed_factory(std::string name) : name_(std::move(name)) {}

  std::string_view name() const noexcept final { return name_; }
  std::string_view config_type() const noexcept final {
    return ConfigProto::descriptor()->full_name();
  }

  result<std::unique_ptr<model>> create(const google::protobuf::Any& config,
                                        const create_context& ctx) const final {
    ConfigProto typed;
    if (!config.type_url().empty()) {
      if (!config.Is<ConfigProto>()) {
        return make_error(errc::invalid_config,
                          "config: model \"" + name_ + "\" takes @type \"type.googleapis.com/" +
                              std::string(config_type()) + "\", not \"" + config.type_url() + "\"");
      }
      if (!config.UnpackTo(&typed)) {
        return make_error(errc::invalid_config,
                          "config: cannot decode " + std::string(config_type()));
      }
    }
    return create_typed(typed, ctx);
  }

 protected:
  /// Validates `config` (errors name the field, e.g. "config.cpm: must be > 0") and builds the
  /// model.
  virtual result<std::unique_ptr<model>> create_typed(const ConfigProto& config,
                                                      const create_context& ctx) const = 0;

 private:
  std::string name_;
};

}  // namespace bidder::pricing
