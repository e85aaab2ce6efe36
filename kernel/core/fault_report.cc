// Generic context for kernel exception reports: stack overflows and the faulting thread.
#include "kernel/core/panic.h"
#include "kernel/ipc/ipc.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/thread.h"

namespace exo {

void describe_kernel_fault(uint64_t vector, uint64_t fault_address) {
  constexpr uint64_t kNmi = 2, kPageFault = 14, kDoubleFault = 8;
  if (!mm::ready()) return;
  bool guard_hit = (vector == kPageFault || vector == kDoubleFault) &&
                   mm::is_kernel_stack_guard(fault_address);
  Thread* thread = scheduler_ready() ? Thread::current() : nullptr;
  if (guard_hit) {
    kprint("*** KERNEL STACK OVERFLOW: thread '{}' (id {}) ran into the guard page at {:#x}\n",
           thread != nullptr ? thread->name() : "?", thread != nullptr ? thread->id() : 0,
           fault_address);
  } else if (thread != nullptr) {
    kprint("in thread '{}' (id {})\n", thread->name(), thread->id());
  }
  // An NMI is how a harness asks a stuck machine what it was doing (QEMU monitor `nmi`).
  if (vector == kNmi && thread != nullptr) {
    scheduler_dump();
    ipc::debug_dump();
    for_each_thread_racy([](const Thread& t) {
      kprint("  thread {} '{}' {} on cpu {}, deadline cpu {:#x}, notification {:#x}\n", t.id(), t.name(),
             thread_state_name(t), t.cpu(), t.deadline_cpu_,
             reinterpret_cast<uptr>(t.waiting_on_notification));
      ipc::debug_dump_thread(t);
    });
  }
}

}  // namespace exo
