// x86_64's inline part of the ring-3 seam (kernel/arch/user.h): what every switch to a user
// thread does, so that it costs a few stores and one compare rather than two calls.
#pragma once

#include "kernel/arch/x86_64/percpu.h"

namespace exo::arch {

// Makes this CPU's I/O bitmap hold exactly `io`'s ranges (generation `generation`), touching
// only what differs (user_mode.cc). Interrupts off.
void load_io_ranges(PerCpu& cpu, const IoPermissions* io, uint64_t generation);

inline void set_user_thread(uptr stack_top, const bool* exit_flag, const IoPermissions* io) {
  PerCpu& cpu = percpu::current();
  cpu.kernel_stack_top = stack_top;
  cpu.tss->rsp[0] = stack_top;
  cpu.user_exit_flag = exit_flag;
  // Most switches are between processes without ports (generation 0 both): one compare.
  uint64_t generation = io != nullptr ? io->generation() : 0;
  if (cpu.io_loaded_generation != generation) load_io_ranges(cpu, io, generation);
}

}  // namespace exo::arch
