// The campaign API on the admin port (docs/console.md "## API"), through the real service on
// loopback port 0 over a data directory in a temp dir: every operation, field errors,
// revisions, diff, rollback, 409/428, the audit log, and bids answered by a new campaign.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bidder/app/config_cli.hpp"
#include "bidder/app/service.hpp"
#include "bidder/config/loader.hpp"
#include "tests/console/console_harness.hpp"

namespace {

using bidder::test::campaign_text;
using bidder::test::console_fixture;
using bidder::test::quoted_revision;
namespace json = boost::json;

}  // namespace

TEST_CASE("the file seeds revision 1, listed with status and live spend", "[console][api]") {
  console_fixture f;
  const auto reply = f.admin("GET", "/admin/campaigns");
  REQUIRE(reply.status == 200);
  CHECK(reply.headers.at("etag") == "\"1\"");
  const auto body = f.json_of(reply);
  CHECK(body.at("revision") == 1);
  const auto& list = body.at("campaigns").as_array();
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("campaign").at("id") == "c1");
  CHECK(list[0].at("campaign").at("max_cpm") == 10);
  CHECK(list[0].at("status") == "ACTIVE");
  CHECK(list[0].at("spend").at("lifetime") == 0.0);
  CHECK(list[0].at("pacing") == 1.0);

  const auto one = f.admin("GET", "/admin/campaigns/c1");
  REQUIRE(one.status == 200);
  CHECK(f.json_of(one).at("campaign").at("creatives").as_array()[0].at("id") == "cr-c1");
  CHECK(one.headers.at("etag") == "\"1\"");
  const auto missing = f.admin("GET", "/admin/campaigns/nope");
  CHECK(missing.status == 404);
  CHECK(f.json_of(missing).at("error").as_string().size() > 0);
}

TEST_CASE("create, update, pause, resume and delete change what bids, at once", "[console][api]") {
  console_fixture f;
  CHECK(f.bid_campaign(728, 90).empty());

  const auto created = f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90));
  REQUIRE(created.status == 201);
  CHECK(f.json_of(created).at("revision") == 2);
  CHECK(f.json_of(created).at("campaign").at("id") == "c2");
  CHECK(created.headers.at("etag") == "\"2\"");
  CHECK(f.bid_campaign(728, 90) == "c2");

  const auto again = f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90));
  CHECK(again.status == 409);

  // Update: the banner size moves to 160x600.
  const auto updated = f.admin("PUT", "/admin/campaigns/c2", campaign_text("c2", 160, 600),
                               {{"If-Match", quoted_revision(2)}});
  REQUIRE(updated.status == 200);
  CHECK(f.json_of(updated).at("revision") == 3);
  CHECK(f.bid_campaign(728, 90).empty());
  CHECK(f.bid_campaign(160, 600) == "c2");

  const auto paused = f.admin("POST", "/admin/campaigns/c2/pause");
  REQUIRE(paused.status == 200);
  CHECK(f.json_of(paused).at("campaign").at("status") == "PAUSED");
  CHECK(f.bid_campaign(160, 600).empty());
  const auto listed = f.json_of(f.admin("GET", "/admin/campaigns"));
  CHECK(listed.at("campaigns").as_array()[1].at("status") == "PAUSED");

  REQUIRE(f.admin("POST", "/admin/campaigns/c2/resume").status == 200);
  CHECK(f.bid_campaign(160, 600) == "c2");

  CHECK(f.admin("DELETE", "/admin/campaigns/c2").status == 428);
  const auto deleted =
      f.admin("DELETE", "/admin/campaigns/c2", "", {{"If-Match", quoted_revision(f.revision())}});
  REQUIRE(deleted.status == 200);
  CHECK(f.bid_campaign(160, 600).empty());
  CHECK(f.admin("GET", "/admin/campaigns/c2").status == 404);
  CHECK(f.admin("POST", "/admin/campaigns/c2/pause").status == 404);
}

TEST_CASE("validation errors name the field, as check-config does, and change nothing",
          "[console][api]") {
  console_fixture f;
  auto first_error = [&](const bidder::test::http_reply& reply) {
    REQUIRE(reply.status == 422);
    return f.json_of(reply).at("errors").as_array()[0].as_object();
  };
  SECTION("max_cpm") {
    const auto e = first_error(f.admin("POST", "/admin/campaigns", campaign_text("c2", 1, 1, 0)));
    CHECK(e.at("field") == "campaign.max_cpm");
    CHECK(e.at("message") == "must be > 0");
  }
  SECTION("a creative's markup") {
    std::string text = campaign_text("c2", 728, 90);
    text.replace(text.find("<b>ad</b>"), 9, "");
    const auto e = first_error(f.admin("POST", "/admin/campaigns", text));
    CHECK(e.at("field") == "campaign.creatives[0].markup");
  }
  SECTION("an unknown field") {
    const auto e = first_error(f.admin("POST", "/admin/campaigns", R"({"id":"c2","bogus":1})"));
    CHECK(e.at("field") == "campaign");
    CHECK(std::string(e.at("message").as_string()).find("bogus") != std::string::npos);
  }
  SECTION("the pricing model's parameters (compiled as a reload compiles them)") {
    std::string text = campaign_text("c2", 728, 90);
    text.replace(text.find("\"name\": \"fixed\""), 15, "\"name\": \"no_such_model\"");
    const auto reply = f.admin("POST", "/admin/campaigns", text);
    REQUIRE(reply.status == 422);
    CHECK(f.json_of(reply).at("errors").as_array()[0].at("message").as_string().size() > 0);
  }
  SECTION("an id that differs from the path") {
    const auto e = first_error(f.admin("PUT", "/admin/campaigns/c1", campaign_text("c9", 1, 1),
                                       {{"If-Match", quoted_revision(1)}}));
    CHECK(e.at("field") == "campaign.id");
  }
  SECTION("the same message check-config gives for the same campaign in a file") {
    const std::string text = campaign_text("c2", 1, 1, 20000);
    const auto e = first_error(f.admin("POST", "/admin/campaigns", text));
    auto file = bidder::config::parse(R"({"campaigns":[)" + text + "]}", "f.json");
    REQUIRE_FALSE(file);
    const auto from_file = bidder::config::field_of(file.error().message);
    CHECK(e.at("field").as_string() == from_file.field);
    CHECK(e.at("message").as_string() == from_file.message);
  }
  CHECK(f.revision() == 1);
}

TEST_CASE("a stale If-Match gets 409 with the current revision, a missing one 428",
          "[console][api]") {
  console_fixture f;
  // Two people read revision 1; the first one's change wins, the second's is refused.
  REQUIRE(f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 5),
                  {{"If-Match", "\"1\""}})
              .status == 200);
  const auto stale = f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 7),
                             {{"If-Match", "\"1\""}});
  CHECK(stale.status == 409);
  CHECK(f.json_of(stale).at("revision") == 2);
  CHECK(f.json_of(f.admin("GET", "/admin/campaigns/c1")).at("campaign").at("max_cpm") == 5);
  CHECK(f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 7)).status == 428);
  CHECK(f.admin("POST", "/admin/campaigns/c1/pause", "", {{"If-Match", "\"1\""}}).status == 409);
  CHECK(f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 7),
                {{"If-Match", "W/\"2\""}})
            .status == 200);
}

TEST_CASE("revisions, their diff, rollback and the audit log", "[console][api]") {
  console_fixture f;
  REQUIRE(
      f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90), {{"X-Bidder-User", "ann"}})
          .status == 201);
  REQUIRE(f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 4),
                  {{"If-Match", "\"2\""}})
              .status == 200);

  const auto list = f.json_of(f.admin("GET", "/admin/revisions")).at("revisions").as_array();
  REQUIRE(list.size() == 3);
  CHECK(list[0].at("source") == "file");
  CHECK(list[1].at("source") == "api");
  CHECK(list[1].at("what") == "create campaign c2");
  CHECK(list[2].at("what") == "update campaign c1");
  CHECK(std::string(list[2].at("time").as_string()).ends_with("Z"));

  const auto at2 = f.json_of(f.admin("GET", "/admin/revisions/2"));
  CHECK(at2.at("campaigns").as_array().size() == 2);
  CHECK(f.admin("GET", "/admin/revisions/9").status == 404);

  const auto diff3 = f.json_of(f.admin("GET", "/admin/revisions/3/diff"));
  REQUIRE(diff3.at("changes").as_array().size() == 1);
  const auto& change = diff3.at("changes").as_array()[0];
  CHECK(change.at("id") == "c1");
  CHECK(change.at("change") == "changed");
  const auto& field = change.at("fields").as_array()[0];
  CHECK(field.at("field") == "max_cpm");
  CHECK(field.at("before") == 10);
  CHECK(field.at("after") == 4);
  const auto diff2 = f.json_of(f.admin("GET", "/admin/revisions/2/diff"));
  CHECK(diff2.at("changes").as_array()[0].at("change") == "added");

  CHECK(f.admin("POST", "/admin/revisions/1/rollback").status == 428);
  CHECK(f.admin("POST", "/admin/revisions/1/rollback", "", {{"If-Match", "\"2\""}}).status == 409);
  const auto rolled = f.admin("POST", "/admin/revisions/1/rollback", "", {{"If-Match", "\"3\""}});
  REQUIRE(rolled.status == 200);
  CHECK(f.json_of(rolled).at("revision") == 4);
  const auto now = f.json_of(f.admin("GET", "/admin/revisions/4"));
  CHECK(now.at("source") == "rollback");
  CHECK(now.at("campaigns") == f.json_of(f.admin("GET", "/admin/revisions/1")).at("campaigns"));
  CHECK(f.bid_campaign(728, 90).empty());  // c2 is gone again

  const auto audit = f.json_of(f.admin("GET", "/admin/audit")).at("entries").as_array();
  REQUIRE(audit.size() == 4);
  CHECK(audit[0].at("revision") == 4);  // newest first
  CHECK(audit[0].at("what") == "roll back to revision 1");
  CHECK(audit[2].at("who") == "admin (no token)");
  CHECK(audit[3].at("source") == "file");

  const auto metrics = f.admin("GET", "/metrics");
  CHECK_THAT(metrics.body, Catch::Contains("bidder_config_revision 4\n"));
}

TEST_CASE("revisions survive a restart; a changed config file becomes a new revision",
          "[console][api]") {
  console_fixture f;
  REQUIRE(f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90)).status == 201);
  f.restart();
  CHECK(f.revision() == 2);
  CHECK(f.bid_campaign(728, 90) == "c2");
  // The file did not change: a reload keeps the API's revision.
  REQUIRE(f.svc->reload());
  CHECK(f.revision() == 2);
  CHECK(f.bid_campaign(728, 90) == "c2");

  bidder::test::write_console_config(f.dir.path, campaign_text("c3", 320, 50));
  auto reloaded = f.svc->reload();
  REQUIRE(reloaded);
  CHECK(f.revision() == 3);
  const auto list = f.json_of(f.admin("GET", "/admin/revisions")).at("revisions").as_array();
  CHECK(list.back().at("source") == "file");
  CHECK(f.bid_campaign(320, 50) == "c3");
  CHECK(f.bid_campaign(728, 90).empty());
  f.restart();
  CHECK(f.revision() == 3);
  CHECK(f.json_of(f.admin("GET", "/admin/audit")).at("entries").as_array().size() == 3);
}

TEST_CASE("the export is a config file check-config accepts, with the current revision",
          "[console][api]") {
  console_fixture f;
  REQUIRE(f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90)).status == 201);
  const auto exported = f.admin("GET", "/admin/config/export");
  REQUIRE(exported.status == 200);
  auto config = bidder::config::parse(exported.body, "export.json");
  REQUIRE(config);
  REQUIRE((*config)->campaigns_size() == 2);
  CHECK((*config)->campaigns(1).id() == "c2");
  CHECK((*config)->notice_base_url() == "http://127.0.0.1:1");
}

TEST_CASE("two concurrent edits of the same revision: one applies, the other gets 409",
          "[console][api]") {
  console_fixture f;
  std::vector<unsigned> statuses(2);
  std::vector<std::thread> editors;
  for (int i = 0; i < 2; ++i) {
    editors.emplace_back([&, i] {
      statuses[static_cast<std::size_t>(i)] =
          f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 3 + i),
                  {{"If-Match", "\"1\""}})
              .status;
    });
  }
  for (auto& t : editors) t.join();
  std::sort(statuses.begin(), statuses.end());
  CHECK(statuses == std::vector<unsigned>{200, 409});
  CHECK(f.revision() == 2);
}

TEST_CASE("`bidder config export --out` writes a file check-config accepts", "[console][api]") {
  console_fixture f;
  REQUIRE(f.admin("POST", "/admin/campaigns", campaign_text("c2", 728, 90)).status == 201);
  const std::string out = (f.dir.path / "exported.json").string();
  const std::string admin = "127.0.0.1:" + std::to_string(f.svc->admin_port());
  REQUIRE(bidder::app::run_config_cli({"export", "--admin", admin, "--out", out}) == 0);
  auto checked = bidder::app::check_config(out);
  REQUIRE(checked);
  CHECK_THAT(*checked, Catch::Contains("2 campaigns"));
  // The exported file in place of the original: a reload imports it (same campaigns).
  std::filesystem::copy_file(out, f.config, std::filesystem::copy_options::overwrite_existing);
  REQUIRE(f.svc->reload());
  CHECK(f.bid_campaign(728, 90) == "c2");
}

TEST_CASE("a change that changes nothing records no revision", "[console][api]") {
  console_fixture f;
  // The form saved as it was read, a resume of an active campaign: revision 1 still serves.
  const auto same =
      f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250), {{"If-Match", "\"1\""}});
  REQUIRE(same.status == 200);
  CHECK(f.json_of(same).at("revision") == 1);
  CHECK(f.admin("POST", "/admin/campaigns/c1/resume").status == 200);
  CHECK(f.json_of(f.admin("GET", "/admin/revisions")).at("revisions").as_array().size() == 1);
  // A real change still makes revision 2.
  const auto changed = f.admin("PUT", "/admin/campaigns/c1", campaign_text("c1", 300, 250, 4),
                               {{"If-Match", "\"1\""}});
  REQUIRE(changed.status == 200);
  CHECK(f.json_of(changed).at("revision") == 2);
}
