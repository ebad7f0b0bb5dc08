#include "bidder/stream/spool.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "bidder/core/atomic_file.hpp"
#include "bidder/stream/cursor.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bidder::stream;

namespace {

void append(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::app) << bytes;
}

std::vector<std::string> texts(const spool_batch& b) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < b.lines.size(); ++i) out.emplace_back(b.text(i));
  return out;
}

}  // namespace

TEST_CASE("spool file names sort by open time, then by their counter as a number",
          "[stream][unit]") {
  CHECK(is_spool_file_name("events-20261122-101530-0.jsonl"));
  CHECK_FALSE(is_spool_file_name("events-20261122-101530-.jsonl"));
  CHECK_FALSE(is_spool_file_name("events-2026112-101530-0.jsonl"));
  CHECK_FALSE(is_spool_file_name("events-20261122-101530-0.jsonl.tmp"));
  CHECK_FALSE(is_spool_file_name("stream.cursor"));
  CHECK(spool_file_before("events-20261122-101530-9.jsonl", "events-20261122-101530-10.jsonl"));
  CHECK(spool_file_before("events-20261122-101530-10.jsonl", "events-20261122-111530-0.jsonl"));
  CHECK_FALSE(
      spool_file_before("events-20261122-101530-2.jsonl", "events-20261122-101530-2.jsonl"));
  CHECK(event_id("bidder-1", "events-20261122-101530-0.jsonl", 42) ==
        "bidder-1/events-20261122-101530-0.jsonl:42");
}

TEST_CASE("the reader gives complete lines in file order and waits for the newest file's tail",
          "[stream][unit]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  const auto a = dir.path / "events-20261122-101530-9.jsonl";
  const auto b = dir.path / "events-20261122-101530-10.jsonl";
  append(a, "a1\na2\n");
  append(b, "b1\nb2-part");
  append(dir.path / "notes.txt", "not a spool file\n");
  spool_reader reader(dir.path, {});
  spool_batch batch;
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"a1", "a2", "b1"});
  CHECK(batch.id(2, "s") == "s/events-20261122-101530-10.jsonl:0");
  CHECK(batch.end_of(1) == spool_position{a.filename().string(), 6});
  CHECK(reader.position() == spool_position{b.filename().string(), 3});
  CHECK(reader.lag_bytes() == 7);  // "b2-part": the newest file may still finish it

  batch.clear();
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(batch.lines.empty());
  append(b, "\n");
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"b2-part"});
  CHECK(batch.lines[0].offset == 3);
  CHECK(reader.lag_bytes() == 0);
  CHECK(reader.skipped_fragments() == 0);
}

TEST_CASE("a cut line at the end of a file that is no longer the newest is skipped",
          "[stream][unit]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  append(dir.path / "events-20261122-101530-0.jsonl", "x1\n{\"kind\":\"WI");
  spool_reader reader(dir.path, {});
  spool_batch batch;
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"x1"});
  append(dir.path / "events-20261122-101531-1.jsonl", "y1\n");
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"x1", "y1"});
  CHECK(reader.skipped_fragments() == 1);
}

TEST_CASE("the reader stops at the batch limits and seeks back to a confirmed position",
          "[stream][unit]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  append(dir.path / "events-20261122-101530-0.jsonl", "l0\nl1\nl2\nl3\nl4\n");
  spool_reader reader(dir.path, {});
  spool_batch batch;
  REQUIRE(reader.read(batch, 2, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"l0", "l1"});
  const spool_position after_l0 = batch.end_of(0);
  batch.clear();
  REQUIRE(reader.read(batch, 100, 1));  // at least one line, even over max_bytes
  CHECK(texts(batch) == std::vector<std::string>{"l2"});
  reader.seek(after_l0);
  batch.clear();
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"l1", "l2", "l3", "l4"});
}

TEST_CASE("a position in a removed file goes on with the next file", "[stream][unit]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  append(dir.path / "events-20261122-101530-0.jsonl", "old\n");
  append(dir.path / "events-20261122-121530-1.jsonl", "new\n");
  spool_reader reader(dir.path, {"events-20261122-111530-0.jsonl", 123});
  spool_batch batch;
  REQUIRE(reader.read(batch, 100, 1 << 20));
  CHECK(texts(batch) == std::vector<std::string>{"new"});
}

TEST_CASE("the cursor is saved whole and read back; a damaged one is an error naming it",
          "[stream][unit]") {
  bidder::test::temp_dir dir("bidder-stream-test");
  const auto path = dir.path / "stream.cursor";
  auto none = load_cursor(path);
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());

  REQUIRE(save_cursor(path, {"events-20261122-101530-3.jsonl", 987654}));
  auto back = load_cursor(path);
  REQUIRE(back.has_value());
  REQUIRE(back->has_value());
  CHECK(**back == spool_position{"events-20261122-101530-3.jsonl", 987654});
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    CHECK_FALSE(bidder::is_atomic_temporary_name(entry.path().filename().string()));
  }

  REQUIRE(save_cursor(path, {}));
  back = load_cursor(path);
  REQUIRE(back.has_value());
  CHECK(**back == spool_position{});

  for (const std::string bad :
       {"", "v1 events-20261122-101530-3.jsonl\n", "v1 events-20261122-101530-3.jsonl 12x\n",
        "v2 events-20261122-101530-3.jsonl 1\n", "v1 ../etc/passwd 1\n",
        "v1 events-20261122-101530-3.jsonl 1"}) {
    dir.write("stream.cursor", bad);
    auto damaged = load_cursor(path);
    REQUIRE_FALSE(damaged.has_value());
    CHECK(damaged.error().message.find(path.string()) != std::string::npos);
  }
}
