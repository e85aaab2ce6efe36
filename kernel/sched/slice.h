// Time slices: charging current, deciding preemption, and whether a tick is needed (tickless).
#pragma once

#include "kernel/lib/utility.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/timer_queue.h"

namespace exo::sched {

// All functions here require the caller to hold `rq`'s lock; times are monotonic nanoseconds.
//
// The policy: a thread runs until it blocks, a more urgent thread becomes ready, or its slice is
// used up while a thread of the same (or higher) priority waits. A slice that runs out with
// nobody to share the CPU with is silently refilled, so a lone thread is never switched away from
// itself, and there is no tick to take.

// Charges current up to now_ns. True when the CPU should reschedule: a more urgent entity is
// ready, or the slice is used up and a peer of equal or higher priority is waiting. When the
// slice is used up and nobody is waiting, the slice is refilled and false returned.
bool on_tick(RunQueue& rq, uint64_t now_ns);

// True when making `woken` ready on rq's CPU should preempt what runs there: the CPU idles or
// `woken` is strictly more urgent than current. Equal priority waits its turn.
bool should_preempt_on_wakeup(const RunQueue& rq, const SchedEntity& woken);

// True when this CPU needs a timer interrupt for slice expiry: only when something runs and some
// ready entity could take over at slice end (priority >= current's). Lower-priority ready
// threads cannot run until current blocks, and an idle CPU has nothing to preempt.
inline bool needs_periodic_tick(const RunQueue& rq) {
  const SchedEntity* current = rq.current();
  return current != nullptr && rq.highest_ready_priority() >= current->priority_;
}

// When the running slice ends, if that matters (needs_periodic_tick); kNever otherwise. The
// kernel arms its one-shot timer for min(this, the timer queue's next_deadline()).
inline uint64_t next_preemption_deadline(const RunQueue& rq) {
  if (!needs_periodic_tick(rq)) return kNever;
  uint64_t deadline;
  if (!checked_add(rq.charged_until_ns(), rq.current()->slice_left_ns_, &deadline)) return kNever;
  return deadline;
}

// Puts a preempted entity back on `rq`: at the head of its level with the slice it had left, or,
// if the slice is used up, refilled and at the tail (round robin).
// Preconditions: `e` is not current and on no queue; charge_current() was done before.
void requeue_preempted(RunQueue& rq, SchedEntity& e);

// The whole preemption path: charges current, requeues it (requeue_preempted) and picks the
// next entity to run, which may be the same one. Returns the new current (null if idle).
SchedEntity* preempt_and_pick(RunQueue& rq, uint64_t now_ns);

}  // namespace exo::sched
