// Learned pricing end to end through the real service (issue 16): the bids' features in the
// event log, `bidder train` on that log, a learned model serving, reloads that swap the model
// file atomically and refuse a damaged one while the old model keeps serving.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <string>

#include "bidder/learning/model_file.hpp"
#include "bidder/training/cli.hpp"
#include "tests/integration/service_harness.hpp"
#include "tests/support/learned_model_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bidder::test::call;

// One campaign priced by the learned model in `model_file` (relative: next to the config).
std::string write_config(const fs::path& dir, const std::string& model_file) {
  std::ofstream(dir / "notice.key") << "0123456789abcdef0123456789abcdef-learning\n";
  const fs::path config = dir / "campaigns.json";
  std::ofstream(config) << R"({"notice_key_file": ")" << (dir / "notice.key").string() << R"(",
    "campaigns": [{"id": "shoes", "status": "ACTIVE", "advertiser_domains": ["shop.example"],
      "max_cpm": 10, "creatives": [{"id": "shoes-cr", "banner": {"sizes": [{"w": 300, "h": 250}]},
        "markup": "<a href=\"{{CLICK_URL}}\">ad</a>", "landing_url": "https://shop.example/"}],
      "pricing": {"name": "learned", "config": {
        "@type": "type.googleapis.com/bidder.models.learned.v1.LearnedConfig",
        "click_model": ")"
                        << model_file << R"(", "value_per_click": 0.004}}}]})";
  return config.string();
}

struct bid_answer {
  double price = 0;
  std::string nurl, click_path;
};

bid_answer bid(std::uint16_t port, const std::string& site) {
  const std::string request =
      R"({"id":"a1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"domain":")" + site +
      R"("},"device":{"devicetype":2,"os":"Linux"},"user":{"buyeruid":"u1"}})";
  const bidder::test::http_reply r = call(port, "POST", "/bid", request);
  REQUIRE(r.status == 200);
  const json::object b =
      json::parse(r.body).at("seatbid").as_array()[0].at("bid").as_array()[0].as_object();
  const std::string adm(b.at("adm").as_string());
  const std::size_t at = adm.find("/click?");
  return {b.at("price").to_number<double>(), std::string(b.at("nurl").as_string()),
          bidder::test::notice_path("http://x" + adm.substr(at, adm.find('"', at) - at))};
}

}  // namespace

TEST_CASE("learned pricing: log features, train, serve, and swap models on reload",
          "[integration][learning]") {
  bidder::test::temp_dir dir("bidder-learning-it");
  // P(click) = 0.5 everywhere: 1000 * 0.5 * 0.004 = 2.00.
  bidder::test::write_learned_model(dir.path / "click.model", {});
  const std::string config = write_config(dir.path, "click.model");
  std::ostringstream log;
  const fs::path data = dir.path / "data";
  {
    auto svc = bidder::test::start_service(config, data, log);
    const std::uint16_t port = svc->bid_port(), admin = svc->admin_port();
    // A market where good.example's ads are clicked and poor.example's are not.
    for (int i = 0; i < 60; ++i) {
      const bool good = i % 2 == 0;
      const bid_answer a = bid(port, good ? "good.example" : "poor.example");
      CHECK(a.price == Approx(2.0));
      REQUIRE(call(port, "GET", bidder::test::notice_path(a.nurl)).status == 204);
      if (good && i % 4 == 0) REQUIRE(call(port, "GET", a.click_path).status == 302);
    }

    // A damaged model file: the reload is refused with the reason, the old model serves on.
    std::ofstream(dir.path / "click.model", std::ios::trunc) << "BIDLRN\r\n cut short";
    const bidder::test::http_reply refused = call(admin, "POST", "/admin/reload");
    CHECK(refused.status == 422);
    CHECK_THAT(refused.body, Catch::Contains("config.click_model") && Catch::Contains("checksum"));
    CHECK(bid(port, "good.example").price == Approx(2.0));
    svc->stop(std::chrono::milliseconds(500));
  }
  // The bids' features are in the log, and `bidder train` learns from it.
  const std::string lines = bidder::test::event_lines(data / "events");
  CHECK_THAT(lines, Catch::Contains(R"("features":"x=default s=good.example d=2 o=linux h=)"));
  CHECK_THAT(lines, Catch::Contains(R"(f=300x250","model":"learned"})"));
  // Every bid, win and click line names the one user (buyeruid u1) by the same pseudonymous key.
  std::set<std::string> user_keys;
  std::size_t keyed = 0;
  for (std::size_t at = 0; (at = lines.find(R"("user_key_hash":")", at)) != std::string::npos;) {
    at += 17;
    user_keys.insert(lines.substr(at, 16));
    ++keyed;
  }
  CHECK(keyed == 136);  // 61 bids, 60 wins and 15 clicks
  CHECK(user_keys.size() == 1);
  const std::string trained = (dir.path / "trained.model").string();
  REQUIRE(bidder::training::run_train_cli({"--events", (data / "events").string(), "--out", trained,
                                           "--holdout-share", "0", "--bits", "12", "--alpha",
                                           "0.5"}) == 0);
  auto model = bidder::learning::read_model_file(trained);
  REQUIRE(model.has_value());
  CHECK(model->examples == 60);

  // The trained model goes live with a reload: good.example is now worth more than poor.
  fs::copy_file(trained, dir.path / "click.model", fs::copy_options::overwrite_existing);
  auto svc = bidder::test::start_service(config, data, log);
  const double good = bid(svc->bid_port(), "good.example").price;
  const double poor = bid(svc->bid_port(), "poor.example").price;
  INFO("good " << good << " poor " << poor);
  CHECK(good > 2 * poor);
  // And a reload with a model file of the wrong kind is refused too.
  bidder::test::write_learned_model(dir.path / "click.model",
                                    {.target = bidder::learning::model_target::conversion});
  const bidder::test::http_reply wrong = call(svc->admin_port(), "POST", "/admin/reload");
  CHECK(wrong.status == 422);
  CHECK_THAT(wrong.body, Catch::Contains("predicts conversion, not click"));
  CHECK(bid(svc->bid_port(), "good.example").price == Approx(good));
}
