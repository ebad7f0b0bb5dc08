#include "bidder/pricing/registry.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using bidder::errc;
using bidder::pricing::create_context;
using bidder::pricing::factory;
using bidder::pricing::model;
using bidder::pricing::registry;

/// A factory that only has a name; create() always fails (the registry never calls it).
class named_factory final : public factory {
 public:
  explicit named_factory(std::string name) : name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  std::string_view config_type() const noexcept override { return "test.v1.Empty"; }
  bidder::result<std::unique_ptr<model>> create(const google::protobuf::Any&,
                                                const create_context&) const override {
    return bidder::make_error(errc::invalid_config, "not buildable");
  }

 private:
  std::string name_;
};

std::unique_ptr<factory> make(std::string name) {
  return std::make_unique<named_factory>(std::move(name));
}

}  // namespace

TEST_CASE("a second factory with the same name is rejected as duplicate", "[pricing][unit]") {
  registry r;
  REQUIRE(r.add(make("fixed")));
  auto again = r.add(make("fixed"));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::duplicate);
  CHECK_THAT(again.error().message, Catch::Contains("fixed"));
  // The first registration is kept.
  const factory* found = r.find("fixed");
  REQUIRE(found != nullptr);
  CHECK(found->name() == "fixed");
  CHECK(r.names() == std::vector<std::string>{"fixed"});
}

TEST_CASE("finding an unknown name gives null", "[pricing][unit]") {
  registry r;
  CHECK(r.find("fixed") == nullptr);
  REQUIRE(r.add(make("fixed")));
  CHECK(r.find("rules") == nullptr);
  CHECK(r.find("") == nullptr);
  CHECK(r.find("fixe") == nullptr);
  CHECK(r.find("fixed") != nullptr);
}

TEST_CASE("names() lists every factory sorted by name", "[pricing][unit]") {
  registry r;
  CHECK(r.names().empty());
  REQUIRE(r.add(make("rules")));
  REQUIRE(r.add(make("alpha")));
  REQUIRE(r.add(make("fixed")));
  REQUIRE(r.add(make("zeta_model")));
  CHECK(r.names() == std::vector<std::string>{"alpha", "fixed", "rules", "zeta_model"});
}

TEST_CASE("a factory with an empty name is rejected", "[pricing][unit]") {
  registry r;
  auto added = r.add(make(""));
  REQUIRE_FALSE(added);
  CHECK(added.error().code == errc::invalid_config);
  CHECK(r.names().empty());

  SECTION("a null factory is rejected too") {
    auto null = r.add(nullptr);
    REQUIRE_FALSE(null);
    CHECK(null.error().code == errc::invalid_config);
    CHECK(r.names().empty());
  }
}
