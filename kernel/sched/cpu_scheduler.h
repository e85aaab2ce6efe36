// The scheduler's per-CPU state and the switching steps every switch shares. Internal to
// kernel/sched: thread.cc, and the inline hand-offs in handoff.h (the IPC fast path's), which
// are here rather than behind a call because they are most of an IPC round trip.
#pragma once

#include "kernel/arch/arch.h"
#include "kernel/arch/context.h"
#include "kernel/arch/mmu.h"
#include "kernel/arch/user.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/lib/new.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/timer_queue.h"
#include "kernel/sched/wait_queue.h"

namespace exo {

// Access to Thread's private switching state for the scheduler's code.
class SchedulerInternals {
 public:
  static uptr& saved_sp(Thread& t) { return t.saved_sp_; }
  static mm::KernelStack& stack(Thread& t) { return t.stack_; }
  static bool& on_cpu(Thread& t) { return t.on_cpu_; }
  static bool& is_idle(Thread& t) { return t.is_idle_; }
  static Thread::StartFn& start(Thread& t) { return t.start_; }
  static void*& arg(Thread& t) { return t.arg_; }
  static uint64_t& id(Thread& t) { return t.id_; }
  static char* name(Thread& t) { return t.name_; }
  static void*& fpu_state(Thread& t) { return t.fpu_state_; }
  static uint64_t& root(Thread& t) { return t.address_space_root_; }
  static uint16_t pcid(const Thread& t) { return t.pcid_; }
  static const uint64_t* tlb_generation(const Thread& t) { return t.tlb_generation_; }
  static bool& kill_flag(Thread& t) { return t.kill_requested_; }
  static Thread* construct(void* memory) { return new (memory) Thread(); }
  static Thread*& all_prev(Thread& t) { return t.all_prev_; }
  static Thread*& all_next(Thread& t) { return t.all_next_; }
  static Thread* all_next(const Thread& t) { return t.all_next_; }
};

// One per CPU. Lock order: a wait queue owner's lock, then a CpuScheduler lock; never two
// CpuScheduler locks at once (stealing takes the victim's, lets go, then takes its own).
// Everything here is guarded by `lock` except need_resched, which only its own CPU touches
// with interrupts off.
struct CpuScheduler {
  explicit CpuScheduler(uint32_t cpu) : index(cpu), queue(cpu) {}

  uint32_t index;
  Spinlock lock;
  sched::RunQueue queue;  // ready threads; queue.current() is the running non-idle thread
  sched::TimerQueue<sched::SchedEntity> sleepers;
  Thread* current = nullptr;  // the running thread, idle included
  Thread* idle = nullptr;
  sched::WakeList zombies;  // dead threads whose stacks are no longer in use
  uint64_t armed_deadline_ns = sched::kNever;
  // The user address space this CPU has loaded (0: the kernel's); read by other CPUs.
  uint64_t loaded_root = 0;
  bool need_resched = false;
  uint64_t context_switches = 0;
  uint64_t steals = 0;
  uint64_t preemptions = 0;
};

// Every online CPU's scheduler, by dense CPU index (published with release once set up).
extern CpuScheduler* g_schedulers[arch::kMaxCpus];

// This CPU's scheduler. Interrupts off, or a thread that may migrate uses it only as a hint.
[[gnu::always_inline]] inline CpuScheduler& this_cpu() {
  return *g_schedulers[arch::current_cpu()];
}

// Runs on the thread that was just switched to, on the CPU that switched (`cpu`, lock held):
// lets go of `prev`, the thread switched away from, whose registers are saved now.
inline void finish_switch(CpuScheduler& cpu, Thread& prev) {
  if (prev.state_ == sched::ThreadState::kDead) cpu.zombies.push_back(prev);
  __atomic_store_n(&SchedulerInternals::on_cpu(prev), false, __ATOMIC_RELEASE);
}

// The user half of a switch: FPU state out of `prev` and into `next`, and `next`'s address
// space and kernel-entry stack. A kernel thread runs on the kernel's own tables, so no CPU
// keeps a dead process's tables loaded.
[[gnu::always_inline]] inline void switch_user_state(CpuScheduler& cpu, Thread& prev,
                                                     Thread& next) {
  if (SchedulerInternals::fpu_state(prev) != nullptr)
    arch::fpu_save(SchedulerInternals::fpu_state(prev));
  uint64_t root = SchedulerInternals::root(next);
  if (root != 0) {
    arch::set_user_thread(SchedulerInternals::stack(next).top, &SchedulerInternals::kill_flag(next),
                          next.io_permissions);
    arch::fpu_restore(SchedulerInternals::fpu_state(next));
  }
  if (root != cpu.loaded_root) {
    // Published before the generation is read (vm::AddressSpace::invalidate relies on it).
    __atomic_store_n(&cpu.loaded_root, root, __ATOMIC_SEQ_CST);
    if (root == 0) {
      arch::load_address_space(mm::kernel_root());
    } else if (const uint64_t* generation = SchedulerInternals::tlb_generation(next);
               generation != nullptr) {
      arch::load_user_address_space(root, SchedulerInternals::pcid(next),
                                    __atomic_load_n(generation, __ATOMIC_SEQ_CST));
    } else {
      arch::load_address_space(root);
    }
  }
}

}  // namespace exo
