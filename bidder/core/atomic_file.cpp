#include "bidder/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace bidder {
namespace {

namespace fs = std::filesystem;

error failure(const fs::path& path, std::string_view step, int why) {
  return make_error(errc::io_error,
                    path.string() + ": " + std::string(step) + ": " + std::strerror(why));
}

}  // namespace

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;  // no progress and no error: do not spin
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

result<void> replace_file_atomically(const fs::path& path, std::string_view bytes) {
  fs::path temp = path;
  temp += ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failure(temp, "cannot create", errno);
  const auto abandon = [&](std::string_view step) {
    const int why = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return failure(temp, step, why);
  };
  if (!write_all(fd, bytes)) return abandon("write");
  if (::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    const int why = errno;
    ::unlink(temp.c_str());
    return failure(temp, "close", why);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int why = errno;
    ::unlink(temp.c_str());
    return failure(path, "cannot rename into place", why);
  }
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return failure(dir, "cannot open the directory", errno);
  const bool synced = ::fsync(dir_fd) == 0;
  const int why = errno;
  ::close(dir_fd);
  if (!synced) return failure(dir, "fsync", why);
  return {};
}

bool is_atomic_temporary_name(std::string_view file_name) noexcept {
  const std::size_t at = file_name.rfind(".tmp.");
  if (at == std::string_view::npos || at + 5 == file_name.size()) return false;
  for (char c : file_name.substr(at + 5)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace bidder
