// The direct hand-offs of IPC (docs/ipc.md): a blocked thread takes this CPU straight from the
// thread that unblocks it, with no pass through the run queue. Inline, for the fast path
// (kernel/ipc/fastpath.cc), where they are most of the work.
#pragma once

#include "kernel/sched/cpu_scheduler.h"

namespace exo {

// Whether `next` may take this CPU directly: it waits without a deadline (so no timer can have
// made it ready meanwhile), its affinity allows it and nothing more urgent is ready here. Called
// under the lock of the queue `next` waited on, interrupts off.
// `cpu` is this CPU's scheduler (this_cpu()), for callers that already hold it.
[[gnu::always_inline]] inline bool can_switch_directly(CpuScheduler& cpu, const Thread& next) {
  // Racy reads of this CPU's own queue: at worst a direct switch that a preemption corrects.
  return next.deadline_cpu_ == sched::kNoCpu && next.may_run_on(cpu.index) &&
         cpu.queue.highest_ready_priority() <= int{next.priority_};
}
[[gnu::always_inline]] inline bool can_switch_directly(const Thread& next) {
  return can_switch_directly(this_cpu(), next);
}

// The parked hand-off, the fast path's own (docs/ipc.md, "Parked threads"). The calling thread
// blocks on `queue` parked at its user boundary: its kernel context becomes its syscall
// register frame `frame` alone (arch::park_ipc_context), so it costs nothing to save and a
// switch to it goes straight back to ring 3. `next` becomes current on this CPU without a pass
// through the run queue and takes over the running slice as it stands (no clock is read); the
// set of ready threads does not change, so neither does the timer. `lock` is the owner's lock
// of `queue` and of the queue `next` was taken from, held with interrupts off; released here.
// Does not return: `next` resumes in its kernel context, or, when it is parked too (at
// next_frame, non-null), goes straight back to ring 3 from there with the register-only
// message in the calling thread's `frame` (arch::return_to_parked).
// `cpu` is this CPU's scheduler. Preconditions: interrupts off, can_switch_directly(cpu, next),
// `next` taken off its queue.
[[noreturn, gnu::always_inline]] inline void park_and_hand_over(CpuScheduler& cpu, sched::WaitQueue& queue,
                                                                Spinlock& lock, void* frame,
                                                                Thread& next, void* next_frame) {
  Thread* self = cpu.current;
  cpu.lock.acquire_irqs_off();
  cpu.queue.hand_over_current_uncharged(next);
  queue.block(*self);
  SchedulerInternals::saved_sp(*self) = arch::park_ipc_context(frame);
  lock.release_irqs_off();
  // Parked on another CPU a moment ago, that CPU may still be on its way out of its stack.
  while (__atomic_load_n(&SchedulerInternals::on_cpu(next), __ATOMIC_ACQUIRE)) arch::cpu_relax();
  SchedulerInternals::on_cpu(next) = true;
  cpu.current = &next;
  ++cpu.context_switches;
  switch_user_state(cpu, *self, next);
  // The resumed side of a switch expects this CPU's lock held (it calls finish_switch).
  if (next_frame == nullptr) arch::context_jump(SchedulerInternals::saved_sp(next), self);
  cpu.lock.release_irqs_off();
  arch::return_to_parked(next_frame, frame, &SchedulerInternals::on_cpu(*self));
}

}  // namespace exo
