#include "bidder/app/push_files.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bidder/core/gzip.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bidder::app::push_files;

// This file's temporary directories.
struct temp_dir : bidder::test::temp_dir {
  temp_dir() : bidder::test::temp_dir("bidder-push-files") {}
};

std::string lines(const std::string& stem, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += stem + std::to_string(i) + "\n";
  return out;
}

/// Everything next() gives, and how many pieces.
std::string drain(push_files& files, std::size_t* pieces = nullptr) {
  std::string out, chunk;
  while (true) {
    auto more = files.next(chunk);
    REQUIRE(more.has_value());
    if (!*more) break;
    CHECK(chunk.size() <= push_files::read_bytes + 1);
    out += chunk;
    if (pieces != nullptr) ++*pieces;
  }
  return out;
}

}  // namespace

TEST_CASE("one file is sent as it is on disk, a gzip file still compressed", "[app][unit]") {
  temp_dir dir;
  const std::string plain = lines("user-", 300000);  // several read pieces
  std::string packed;
  bidder::gzip(plain, packed);
  const bool gzipped = GENERATE(false, true);
  const std::string path = dir.write(gzipped ? "a.txt.gz" : "a.txt", gzipped ? packed : plain);
  push_files files({path});
  REQUIRE(files.open().has_value());
  CHECK(files.total_bytes() == (gzipped ? packed.size() : plain.size()));
  std::size_t pieces = 0;
  CHECK(drain(files, &pieces) == (gzipped ? packed : plain));
  CHECK(pieces == (files.total_bytes() + push_files::read_bytes - 1) / push_files::read_bytes);
  CHECK(files.bytes_read() == files.total_bytes());
  CHECK(files.lines() == 300000);  // counted by inflating a copy for the gzip file
}

TEST_CASE("several files are joined as plain text with a newline between", "[app][unit]") {
  temp_dir dir;
  std::string packed;
  bidder::gzip(lines("g-", 1000), packed);
  const std::vector<std::string> paths = {dir.write("a.txt", "a-0\na-1"),  // no final newline
                                          dir.write("b.txt.gz", packed), dir.write("empty.txt", ""),
                                          dir.write("c.txt", "c-0\n")};
  push_files files(paths);
  REQUIRE(files.open().has_value());
  CHECK(drain(files) == "a-0\na-1\n" + lines("g-", 1000) + "c-0\n");
  CHECK(files.lines() == 1002);  // the added newline is not counted as a line of a file
}

TEST_CASE("a missing file or a corrupt gzip file among several is an error", "[app][unit]") {
  temp_dir dir;
  SECTION("missing") {
    push_files files({dir.write("a.txt", "a\n"), (dir.path / "nope.txt").string()});
    auto opened = files.open();
    REQUIRE_FALSE(opened.has_value());
    CHECK_THAT(opened.error().message, Catch::Contains("nope.txt"));
  }
  SECTION("corrupt gzip") {
    std::string packed;
    bidder::gzip(lines("g-", 1000), packed);
    packed.resize(packed.size() / 2);
    push_files files({dir.write("a.txt", "a\n"), dir.write("b.gz", packed)});
    REQUIRE(files.open().has_value());
    std::string chunk;
    bidder::result<bool> more = true;
    while (more && *more) more = files.next(chunk);
    REQUIRE_FALSE(more.has_value());
    CHECK_THAT(more.error().message, Catch::Contains("b.gz"));
  }
}
