// SchedEntity: the scheduler's part of a thread (priority, affinity, slice, links).
#pragma once

#include "kernel/lib/bitmap.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/sched/timer_queue.h"

// A broken scheduler invariant (a priority out of range reaching a queue, a thread queued twice)
// is a kernel bug: values from user space are validated before they get here.
#define EXO_SCHED_CHECK(cond)      \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace exo::sched {

// CPUs are numbered densely from 0 by the boot code; affinity masks have one bit per CPU.
inline constexpr usize kMaxCpus = 256;
inline constexpr uint32_t kNoCpu = 0xffff'ffff;
using CpuMask = Bitmap<kMaxCpus>;

// Priority levels 0..kPriorityLevels-1; a HIGHER number is MORE urgent (as in Zircon). Level 0 is
// where the idle work goes; kDefaultPriority is the middle.
inline constexpr usize kPriorityLevels = 32;
inline constexpr uint8_t kLowestPriority = 0;
inline constexpr uint8_t kHighestPriority = kPriorityLevels - 1;
inline constexpr uint8_t kDefaultPriority = 16;

// 10 ms: long enough that a compute thread is not switched away from a warm cache every few
// microseconds, short enough that an interactive thread sharing the CPU still feels immediate.
inline constexpr uint64_t kDefaultSliceNs = 10'000'000;

enum class ThreadState : uint8_t {
  kNew,      // created, never made runnable
  kReady,    // on a run queue
  kRunning,  // the current entity of some CPU; on no queue
  kBlocked,  // on a wait queue and/or the timer queue, or handed between queues
  kDead,     // finished; on no queue
};

// The run-queue link. A wait queue has a link of its own (WaitQueueTag): a thread waiting with a
// deadline stays on its wait queue when the timer makes it ready, and takes itself off when it
// runs (block_on_until in kernel/sched/thread.h).
struct SchedQueueTag;
struct WaitQueueTag;

// Embedded in (or a base of) the kernel's Thread. The scheduler never allocates or frees one.
// Locking: while the entity is on a run queue its fields belong to that queue's lock; on a wait
// queue, to the lock of the object owning the wait queue; while running, to its CPU. priority_
// and affinity_ change only while the entity is on no queue, or through
// RunQueue::change_priority / PriorityWaitQueue::change_priority.
struct SchedEntity : ListNode<SchedQueueTag>, ListNode<WaitQueueTag>, TimerNode {
  uint8_t priority_ = kDefaultPriority;
  ThreadState state_ = ThreadState::kNew;
  // Which CPUs may run it. Never empty once the thread has started (set_affinity validates).
  CpuMask affinity_ = CpuMask::all();
  // The CPU it last ran on (cache warmth), kNoCpu before its first run.
  uint32_t last_cpu_ = kNoCpu;
  // The CPU whose run queue holds it, kNoCpu when on none. Lets the kernel find which queue lock
  // to take: read it, take that lock, re-check it.
  uint32_t queue_cpu_ = kNoCpu;
  // Its full slice and what is left of the current one.
  uint64_t slice_ns_ = kDefaultSliceNs;
  uint64_t slice_left_ns_ = kDefaultSliceNs;
  // While it waits on a wait queue with a deadline: the CPU whose timer queue holds that
  // deadline; kNoCpu otherwise. Written under the wait queue owner's lock.
  uint32_t deadline_cpu_ = kNoCpu;

  // Sets the affinity from a user-supplied mask. An empty mask is refused (kInvalidArgument) so
  // that placement always has a choice. Precondition: the entity is on no run queue.
  Status set_affinity(const CpuMask& mask) {
    if (mask.none()) return Error::kInvalidArgument;
    affinity_ = mask;
    return ok_status();
  }
  bool may_run_on(uint32_t cpu) const { return affinity_.test(cpu); }
};

}  // namespace exo::sched
