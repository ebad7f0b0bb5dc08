// File: bidder/core/atomic_file.hpp
//
// Replacing a small file (a config revision, a model, a cursor, a state snapshot) so that a
// crash at any moment leaves either the old contents or the new, never part of either.
#pragma once

#include <filesystem>
#include <string_view>

#include "bidder/core/error.hpp"

namespace bidder {

/// Writes `bytes` to a temporary file beside `path` (`<path>.tmp.<pid>`: two processes writing
/// one path never share it), syncs it, renames it over `path` and syncs the directory, so the
/// rename itself survives a crash. On any failure the temporary file is removed, `path` is left
/// as it was, and the error names the file, the step and the system's reason.
result<void> replace_file_atomically(const std::filesystem::path& path, std::string_view bytes);

/// Writes all of `bytes` to `fd`, retrying short writes and interruptions; false with errno set
/// (EIO for a write that made no progress and reported no error).
bool write_all(int fd, std::string_view bytes);

/// Whether a directory entry's name is such a temporary file (left by a crash mid-write, never
/// renamed into place): a store that lists its directory skips and removes these.
bool is_atomic_temporary_name(std::string_view file_name) noexcept;

}  // namespace bidder
