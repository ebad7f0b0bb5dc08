// Tests of bench/load/request_pool: replayed request files (--requests DIR) and the prepared
// HTTP requests a run sends.
#include "bench/load/request_pool.hpp"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/temp_dir.hpp"

using namespace bidder::bench;
using namespace std::chrono_literals;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a request directory replays its *.json files in name order", "[bench][unit]") {
  bidder::test::temp_dir dir("bidbench-replay");
  write(dir.path / "b.json", R"({"id":"b","imp":[{"id":"1"}],"tmax":40})");
  write(dir.path / "a.json", R"({"id":"a","imp":[{"id":"1"}]})");
  write(dir.path / "notes.txt", "not a request");
  auto bodies = load_request_dir(dir.path.string(), 100ms);
  REQUIRE(bodies.has_value());
  REQUIRE(bodies->size() == 2);
  CHECK((*bodies)[0].name == "a.json");
  CHECK((*bodies)[0].tmax == 100ms);  // none in the file: the default
  CHECK((*bodies)[1].name == "b.json");
  CHECK((*bodies)[1].tmax == 40ms);  // the file's own

  // Each becomes a complete HTTP/1.1 POST for the target, with its exact length.
  auto target = parse_target("http://127.0.0.1:8080/bid");
  REQUIRE(target.has_value());
  const request_pool pool = prepare_requests(*target, *bodies);
  REQUIRE(pool.size() == 2);
  const std::string& bytes = pool[0].bytes;
  CHECK(bytes.rfind("POST /bid HTTP/1.1\r\n", 0) == 0);
  const std::string body = R"({"id":"a","imp":[{"id":"1"}]})";
  CHECK(bytes.find("Content-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
  CHECK(bytes.substr(bytes.size() - body.size()) == body);
  CHECK(pool[1].tmax == 40ms);
}

TEST_CASE("a request directory without usable files is refused", "[bench][unit]") {
  bidder::test::temp_dir dir("bidbench-replay");
  auto empty = load_request_dir(dir.path.string(), 100ms);
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().message.find("no *.json file") != std::string::npos);

  write(dir.path / "broken.json", "{\"id\":");
  auto broken = load_request_dir(dir.path.string(), 100ms);
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().message.find("broken.json: not a JSON object") != std::string::npos);

  auto missing = load_request_dir((dir.path / "nope").string(), 100ms);
  CHECK_FALSE(missing.has_value());
}
