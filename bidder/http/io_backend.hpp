// File: bidder/http/io_backend.hpp
//
// Which Asio backend this build runs its sockets on (CMake's BIDDER_IO_URING: io_uring or
// epoll), and whether it can run on this machine: an io_uring build needs a kernel that lets
// the process set up a ring, which a seccomp filter (Docker's default profile, a systemd
// SystemCallFilter without the io_uring_* calls) or kernel.io_uring_disabled can refuse. The
// command line checks before starting anything, so the refusal is one clear line.
//
//   if (std::string problem = http::io_backend_problem(); !problem.empty()) fail(problem);
#pragma once

#include <string>
#include <string_view>

namespace bidder::http {

/// "io_uring" or "epoll".
std::string_view io_backend_name() noexcept;

/// Empty when this build's backend works here; otherwise what failed and what to do.
std::string io_backend_problem();

}  // namespace bidder::http
