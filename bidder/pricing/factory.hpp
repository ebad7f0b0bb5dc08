// File: bidder/pricing/factory.hpp
//
// Builds pricing models from their config. A factory has a stable snake_case `name()` (what a
// campaign's `pricing.name` says), the full name of its config proto, and `create()`.
// Model authors normally derive from `typed_factory<ConfigProto>` and write one function:
//
//   class my_factory : public pricing::typed_factory<my::v1::MyConfig> {
//    public:
//     my_factory() : typed_factory("my_model") {}
//     result<std::unique_ptr<model>> create_typed(const my::v1::MyConfig& c,
//                                                 const create_context& ctx) const override;
//   };
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "bidder/core/error.hpp"
#include "bidder/core/segment_dictionary.hpp"
#include "bidder/pricing/model.hpp"

namespace google::protobuf {
class Any;
}

namespace bidder::pricing {

/// What a factory may use while building a model (control plane only).
struct create_context {
  /// Segment names in the model's config are interned here, so the model compares ids. It
  /// lives as long as the model (both belong to the campaign snapshot), so a model may keep a
  /// pointer to it to name the segments it is given.
  segment_dictionary& segments;
  /// The directory relative file paths in a model's config are relative to: the config
  /// file's. Empty: the working directory.
  std::string_view files_dir = {};
};

class factory {
 public:
  virtual ~factory() = default;
  /// Stable snake_case id, e.g. "fixed".
  virtual std::string_view name() const noexcept = 0;
  /// Full name of the config message, e.g. "bidder.models.fixed.v1.FixedConfig".
  virtual std::string_view config_type() const noexcept = 0;
  /// Builds a model. An empty Any means "all defaults". Errors: invalid_config (wrong type
  /// URL, undecodable or invalid parameters), with a message naming the field.
  [[nodiscard]] virtual result<std::unique_ptr<model>> create(const google::protobuf::Any& config,
                                                              const create_context& ctx) const = 0;
};

}  // namespace bidder::pricing
