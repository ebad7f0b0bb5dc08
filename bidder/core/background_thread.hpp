// File: bidder/core/background_thread.hpp
//
// Threads that are not on the bid path (the spend keeper, the event-log writer, the audience
// cache warmer) call yield_to_bid_threads() first: at the lowest CPU priority (nice 19) they
// still get every idle cycle, but a bid thread that becomes runnable preempts them at once
// instead of waiting up to a scheduler slice (milliseconds, straight into the p99) when the
// server shares its cores with them, as in a pinned load test.
#pragma once

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace bidder {

/// Lowers the calling thread's CPU priority to the minimum. Best effort: errors are ignored.
inline void yield_to_bid_threads() noexcept {
#if defined(__linux__)
  // On Linux the nice value is per thread (PRIO_PROCESS with a thread id).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
#endif
}

}  // namespace bidder
