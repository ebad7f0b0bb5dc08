// File: tests/support/temp_dir.hpp
//
// A fresh directory under the system's temporary directory for one test, removed with all its
// contents when the object goes away (tests are hermetic: each makes its own data).
//
//   bidder::test::temp_dir dir;
//   const std::string file = dir.write("users.txt", "user:a\n");
//   open_store((dir.path / "store").string());
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace bidder::test {

struct temp_dir {
  std::filesystem::path path;

  /// `prefix` names the directory for a person looking at /tmp. The process id, a clock reading
  /// and a counter make it unique, also across the processes a crash test forks.
  explicit temp_dir(const std::string& prefix = "bidder-test") {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
            std::to_string(counter.fetch_add(1)));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `bytes` to the file `name` in the directory; returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
    return (path / name).string();
  }
};

}  // namespace bidder::test
