// File: bidder/core/background_thread.hpp
//
// Threads that are not on the bid path call yield_to_bid_threads() first, with one of two
// priorities:
// - background_priority::idle (SCHED_IDLE): the kernel preempts them the moment a bid thread
//   (SCHED_OTHER) wakes on their core, where a nice-19 thread could still finish its slice
//   (milliseconds, straight into the p99). For the heavy CPU users of a push: the admin port
//   (and the sort thread a push starts from it, which inherits the policy), its offload thread,
//   the audience cache warmer, and RocksDB's flush and compaction pools (set in service.cpp;
//   README "Audience files": the bid p99 during a 10M-line push).
// - background_priority::low (nice 19): for the spend keeper and the event-log writer, light
//   threads that gain nothing measurable from SCHED_IDLE. The keeper holds the ledger's
//   journal lock, which the notice path also takes: a SCHED_IDLE holder preempted on a core
//   that another bid thread keeps saturated could wait long for its next slice while a bid
//   thread wanting the lock stalls (priority inversion); nice 19 gets 5 times the share.
#pragma once

#if defined(__linux__)
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace bidder {

enum class background_priority { idle, low };

/// Lowers the calling thread's CPU priority. Best effort: errors are ignored.
inline void yield_to_bid_threads(background_priority priority = background_priority::low) noexcept {
#if defined(__linux__)
  // On Linux the policy and the nice value are per thread (a thread id where a pid goes).
  const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
  if (priority == background_priority::idle) {
    const sched_param param{};
    if (::sched_setscheduler(tid, SCHED_IDLE, &param) == 0) return;
  }
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 19);
#endif
}

}  // namespace bidder
