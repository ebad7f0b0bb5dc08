// File: bidder/core/background_thread.hpp
//
// Threads that are not on the bid path call yield_to_bid_threads() first, with one of two
// priorities:
// - background_priority::idle (SCHED_IDLE): the kernel preempts them the moment a bid thread
//   (SCHED_OTHER) wakes on their core, where a nice-19 thread could still finish its slice
//   (milliseconds, straight into the p99). For the heavy CPU users of a push: the admin port
//   (and the sort thread a push starts from it, which inherits the policy), its offload thread,
//   the audience cache warmer, and RocksDB's flush and compaction pools (set in service.cpp;
//   docs/audience.md: the bid p99 during a 10M-line push).
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

#include <cstdint>
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

namespace detail {
// The kernel's struct sched_attr, first version (glibc 2.36 does not declare it, and
// <linux/sched/types.h> clashes with glibc's sched_param).
struct sched_attr_v0 {
  std::uint32_t size = sizeof(sched_attr_v0);
  std::uint32_t sched_policy = 0;
  std::uint64_t sched_flags = 0;
  std::int32_t sched_nice = 0;
  std::uint32_t sched_priority = 0;
  std::uint64_t sched_runtime = 0, sched_deadline = 0, sched_period = 0;
};
static_assert(sizeof(sched_attr_v0) == 48);
}  // namespace detail

/// For bid threads: asks for a short time slice (100 µs, the least Linux takes). Under EEVDF
/// (Linux 6.6+) a waking thread preempts the running one only when its slice is shorter
/// (PREEMPT_SHORT, 6.12+); with the default slices (1.4 ms on 2 CPUs) a bid thread woken by a
/// request waited for a nice-19 keeper or event-log writer to finish its slice (perf sched: up
/// to 2 ms). Older kernels ignore the request or refuse it. Best effort: errors are ignored.
inline void prefer_short_slices() noexcept {
#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
  // Only the slice changes: a policy an operator set (chrt) and the nice value are kept.
  detail::sched_attr_v0 attr;
  if (::syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0U) != 0) return;
  if (attr.sched_policy != SCHED_OTHER) return;
  attr.size = sizeof attr;
  attr.sched_flags &= 0x01;      // SCHED_FLAG_RESET_ON_FORK; the others need more fields
  attr.sched_runtime = 100'000;  // ns: the slice, for SCHED_OTHER
  (void)::syscall(SYS_sched_setattr, 0, &attr, 0U);
#endif
}

/// The calling thread's time slice in ns as the kernel reports it (0 when it does not).
inline std::uint64_t time_slice_ns() noexcept {
#if defined(__linux__) && defined(SYS_sched_getattr)
  detail::sched_attr_v0 attr;
  if (::syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0U) == 0) return attr.sched_runtime;
#endif
  return 0;
}

}  // namespace bidder
