// File: tests/support/corpus.hpp
//
// Where the shared corpus of real OpenRTB requests is, if anywhere. Users clone the project
// anywhere, so the corpus is optional: tests that need it skip themselves, with the reason,
// when it is absent, and every behaviour they cover that matters is also covered by requests
// the tests write themselves.
//
// The directory is $BIDDER_CORPUS_DIR when set at run time, else the CMake cache variable
// BIDDER_CORPUS_DIR (default: ../shared/corpus beside the project, when it exists).
//
//   const auto corpus = bidder::test::corpus_dir();
//   if (!corpus) return bidder::test::skip("needs the shared OpenRTB corpus");
//   for (auto& entry : fs::directory_iterator(*corpus / "openrtb")) ...
#pragma once

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#ifndef BIDDER_CORPUS_DIR
#define BIDDER_CORPUS_DIR ""
#endif

namespace bidder::test {

/// The corpus directory (holding openrtb/), or nullopt when there is none.
inline std::optional<std::filesystem::path> corpus_dir() {
  const char* from_env = std::getenv("BIDDER_CORPUS_DIR");
  const std::filesystem::path dir =
      from_env != nullptr && *from_env != '\0' ? from_env : BIDDER_CORPUS_DIR;
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir / "openrtb", ec)) return std::nullopt;
  return dir;
}

/// Reports the running test case as skipped. Catch2 2.13 has no skip: the line printed here
/// matches the SKIP_REGULAR_EXPRESSION that tests/CMakeLists.txt gives every CTest case, so
/// ctest counts the case as skipped and prints the reason.
inline void skip(std::string_view why) {
  std::cout << "BIDDER-TEST-SKIPPED: " << why
            << " (no corpus: set BIDDER_CORPUS_DIR to a directory holding openrtb/)\n";
}

}  // namespace bidder::test
