// The revisions on disk (bidder/config/revision_store.hpp): what a crash can leave behind is
// read back consistently.
#include "bidder/config/revision_store.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "bidder/config/campaign_json.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using bidder::config::revision_info;
using bidder::config::revision_store;

std::vector<bidder::config::v1::Campaign> one_campaign(const std::string& id) {
  auto c = bidder::config::campaign_from_json(R"({"id":")" + id + R"(","max_cpm":2})");
  REQUIRE(c.has_value());
  return {*c};
}

revision_info made_by(const std::string& what) {
  revision_info info;
  info.who = "test";
  info.what = what;
  info.source = "api";
  info.file_digest = 7;
  return info;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("revisions and the audit log read back after reopening", "[console][store]") {
  bidder::test::temp_dir dir("bidder-revisions");
  {
    auto store = revision_store::open(dir.path);
    REQUIRE(store.has_value());
    CHECK((*store)->latest().info.revision == 0);
    REQUIRE((*store)->append(made_by("one"), one_campaign("a")).value() == 1);
    REQUIRE((*store)->append(made_by("two"), one_campaign("b")).value() == 2);
  }
  auto store = revision_store::open(dir.path);
  REQUIRE(store.has_value());
  CHECK((*store)->latest().info.revision == 2);
  CHECK((*store)->latest().info.file_digest == 7);
  CHECK((*store)->latest().campaigns.at(0).id() == "b");
  CHECK((*store)->history().size() == 2);
  CHECK((*store)->read(1)->campaigns.at(0).id() == "a");
  CHECK((*store)->read(3).error().code == bidder::errc::not_found);
  auto audit = (*store)->audit();
  REQUIRE(audit.has_value());
  REQUIRE(audit->size() == 2);
  CHECK_THAT(audit->front(), Catch::Contains("\"what\":\"two\""));
}

TEST_CASE(
    "a crash's leftovers: a temp file is dropped, lost audit lines come back, a torn one "
    "is skipped",
    "[console][store]") {
  bidder::test::temp_dir dir("bidder-revisions");
  {
    auto store = revision_store::open(dir.path);
    REQUIRE(store.has_value());
    REQUIRE((*store)->append(made_by("one"), one_campaign("a")).has_value());
    REQUIRE((*store)->append(made_by("two"), one_campaign("b")).has_value());
  }
  // A revision written but never renamed; the audit log lost its last line but for a torn
  // half of it.
  std::ofstream(dir.path / "revision-00000003.json.tmp") << R"({"revision":3,"campai)";
  std::string audit = read_all(dir.path / "audit.log");
  audit = audit.substr(0, audit.find('\n') + 1) + R"({"time":"2026-)";
  std::ofstream(dir.path / "audit.log", std::ios::trunc) << audit;

  auto store = revision_store::open(dir.path);
  REQUIRE(store.has_value());
  CHECK((*store)->latest().info.revision == 2);
  CHECK_FALSE(std::filesystem::exists(dir.path / "revision-00000003.json.tmp"));
  auto entries = (*store)->audit();
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 2);
  CHECK_THAT(entries->front(), Catch::Contains("\"revision\":2"));
  REQUIRE((*store)->append(made_by("three"), one_campaign("c")).value() == 3);
  CHECK((*store)->audit()->size() == 3);
}

TEST_CASE("a corrupt revision file is refused with its name", "[console][store]") {
  bidder::test::temp_dir dir("bidder-revisions");
  std::ofstream(dir.path / "revision-00000001.json") << "{not json";
  auto store = revision_store::open(dir.path);
  REQUIRE_FALSE(store.has_value());
  CHECK_THAT(store.error().message, Catch::Contains("revision-00000001.json"));
}
