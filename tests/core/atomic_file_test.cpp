#include "bidder/core/atomic_file.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("a file is replaced whole and no temporary file is left", "[core][unit]") {
  bidder::test::temp_dir dir("atomic-file");
  const fs::path path = dir.path / "state.txt";
  REQUIRE(bidder::replace_file_atomically(path, "first\n"));
  CHECK(read(path) == "first\n");
  const std::string big(1 << 20, 'x');  // more than one write() may take
  REQUIRE(bidder::replace_file_atomically(path, big));
  CHECK(read(path) == big);
  REQUIRE(bidder::replace_file_atomically(path, ""));
  CHECK(read(path).empty());
  CHECK(entries(dir.path) == 1);
}

TEST_CASE("a replacement that cannot be written names the file and the step, and changes nothing",
          "[core][unit]") {
  bidder::test::temp_dir dir("atomic-file");
  const auto missing_dir = bidder::replace_file_atomically(dir.path / "no-such-dir" / "f", "x");
  REQUIRE_FALSE(missing_dir);
  CHECK(missing_dir.error().code == bidder::errc::io_error);
  CHECK_THAT(missing_dir.error().message, Catch::Contains("no-such-dir/f.tmp."));
  CHECK_THAT(missing_dir.error().message, Catch::Contains("cannot create"));

  // The target is a directory: the rename fails, the old "file" and the directory stay clean.
  fs::create_directory(dir.path / "taken");
  const auto onto_dir = bidder::replace_file_atomically(dir.path / "taken", "x");
  REQUIRE_FALSE(onto_dir);
  CHECK_THAT(onto_dir.error().message, Catch::Contains("cannot rename into place"));
  CHECK(fs::is_directory(dir.path / "taken"));
  CHECK(entries(dir.path) == 1);
}

TEST_CASE("the temporary files a crash can leave are recognised by name", "[core][unit]") {
  CHECK(bidder::is_atomic_temporary_name("revision-3.json.tmp.4242"));
  CHECK(bidder::is_atomic_temporary_name("stream.cursor.tmp.1"));
  CHECK_FALSE(bidder::is_atomic_temporary_name("revision-3.json"));
  CHECK_FALSE(bidder::is_atomic_temporary_name("a.tmp."));
  CHECK_FALSE(bidder::is_atomic_temporary_name("a.tmp.12x"));
  CHECK_FALSE(bidder::is_atomic_temporary_name("events-20261122-101530-0.jsonl"));
}
