// File: tests/support/killed_child.hpp
//
// Crash tests: runs a function in a forked child, waits until it has written a given number of
// progress bytes to a pipe, kills it with SIGKILL (no destructor, no flush, no clean close) and
// reaps it. The test then reopens what the child wrote and checks nothing acknowledged is lost.
//
//   const auto run = bidder::test::kill_after_progress(1, [&](int progress) {
//     ... commit, then: char b = 'k'; ::write(progress, &b, 1); for (;;) ::pause();
//   });
//   INFO(run.describe());
//   REQUIRE(run.progressed);
//   REQUIRE(run.killed());
//
// The child must never return (std::_Exit on failure, with a code the parent's INFO shows); it
// runs with Catch2's fatal-signal handlers reset and a 60 s alarm, so a hang closes the pipe
// and fails the parent's read instead of hanging the suite.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <string>

namespace bidder::test {

struct killed_child_run {
  bool forked = false;
  bool progressed = false;  // the bytes arrived before the kill
  int status = 0;           // from waitpid
  bool killed() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
  std::string describe() const {
    return "child exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
           ", signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
};

template <class ChildFn>
killed_child_run kill_after_progress(std::size_t bytes, ChildFn&& child) {
  killed_child_run run;
  int fds[2];
  if (::pipe(fds) != 0) return run;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return run;
  }
  if (pid == 0) {
    ::close(fds[0]);
    // Catch2's fatal-signal handlers would report from the child too; the parent reports.
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE}) std::signal(sig, SIG_DFL);
    ::alarm(60);
    child(fds[1]);
    std::_Exit(100);  // it was to be killed, not to return
  }
  run.forked = true;
  ::close(fds[1]);
  std::size_t left = bytes;
  char buffer[16];
  while (left > 0) {
    const ssize_t n = ::read(fds[0], buffer, std::min(left, sizeof buffer));
    if (n <= 0) break;
    left -= static_cast<std::size_t>(n);
  }
  run.progressed = left == 0;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
  }
  ::close(fds[0]);
  return run;
}

}  // namespace bidder::test
