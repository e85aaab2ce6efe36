// Syscalls about the calling thread's placement: CPU affinity.
#include "kernel/arch/arch.h"
#include "kernel/sched/thread.h"
#include "kernel/syscall/syscall.h"

namespace exo::syscall {

// Bit n of `cpu_mask` is CPU n (the index CPUs come up with, 0 the boot CPU; rdtscp reports it
// in ring 3). Every set bit must name an online CPU: a mask naming a CPU this machine lacks is
// a mistake to report, not to ignore.
SyscallResult sys_thread_set_affinity(uint64_t cpu_mask) {
  uint32_t cpus = arch::cpu_count();
  uint64_t online = cpus >= 64 ? ~uint64_t{0} : (uint64_t{1} << cpus) - 1;
  if (cpu_mask == 0 || (cpu_mask & ~online) != 0) return from_error(Error::kInvalidArgument);
  sched::CpuMask mask;
  for (uint32_t cpu = 0; cpu < cpus; ++cpu) {
    if ((cpu_mask >> cpu) & 1) mask.set(cpu);
  }
  return from(thread_set_own_affinity(mask));
}

}  // namespace exo::syscall
