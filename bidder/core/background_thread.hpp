// File: bidder/core/background_thread.hpp
//
// Threads that are not on the bid path (the spend keeper, the event-log writer, the audience
// cache warmer, the admin port and the sort thread of a push) call yield_to_bid_threads()
// first. They move to SCHED_IDLE: they still get every idle cycle, but the kernel preempts
// them the moment a bid thread (SCHED_OTHER) wakes on their core, where a nice-19 thread could
// still finish its slice first (milliseconds, straight into the p99), as a pinned load test
// with a 10M-line push showed (README "Audience files"). Threads they start inherit it.
#pragma once

#if defined(__linux__)
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace bidder {

/// Lowers the calling thread's CPU priority to the minimum. Best effort: errors are ignored.
inline void yield_to_bid_threads() noexcept {
#if defined(__linux__)
  // On Linux the policy and the nice value are per thread (a thread id where a pid goes).
  const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const sched_param param{};
  if (::sched_setscheduler(tid, SCHED_IDLE, &param) != 0) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 19);  // the next best thing
  }
#endif
}

}  // namespace bidder
