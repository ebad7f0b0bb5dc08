#include "bidder/http/io_backend.hpp"

#include <boost/asio/detail/config.hpp>
#include <cstring>

#ifdef BOOST_ASIO_HAS_IO_URING_AS_DEFAULT
#include <liburing.h>
#endif

namespace bidder::http {

std::string_view io_backend_name() noexcept {
#ifdef BOOST_ASIO_HAS_IO_URING_AS_DEFAULT
  return "io_uring";
#else
  return "epoll";
#endif
}

std::string io_backend_problem() {
#ifdef BOOST_ASIO_HAS_IO_URING_AS_DEFAULT
  io_uring ring;
  if (const int error = io_uring_queue_init(8, &ring, 0); error < 0) {
    return std::string(
               "this build runs its sockets on io_uring (BIDDER_IO_URING) and the kernel "
               "refused to set up a ring (") +
           std::strerror(-error) +
           "): allow the io_uring_setup, io_uring_enter and io_uring_register system calls "
           "(seccomp profile, systemd SystemCallFilter, sysctl kernel.io_uring_disabled=0) or "
           "build with -DBIDDER_IO_URING=OFF (docs/performance.md)";
  }
  io_uring_queue_exit(&ring);
#endif
  return {};
}

}  // namespace bidder::http
