// File: bidder/core/build_info.hpp
//
// Which source the running binary was built from, so that a benchmark result or a bug report
// names it even when the binary was copied away from its tree. The definitions are generated
// at every build (scripts/build-commit.cmake; library bidder::build_info).
#pragma once

#include <string_view>

namespace bidder {

/// The -DBIDDER_COMMIT given to CMake when set (a tree that is not a git checkout); else the
/// git commit (40 hex digits) of the source tree's own checkout; "" when neither is known.
std::string_view build_commit() noexcept;
/// True when tracked files differed from build_commit() at build time.
bool build_dirty() noexcept;

}  // namespace bidder
