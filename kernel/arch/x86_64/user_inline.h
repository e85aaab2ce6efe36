// x86_64's inline part of the ring-3 seam (kernel/arch/user.h): what every switch to a user
// thread does (the kernel-entry stack, the exit flag, the I/O bitmap check, the FPU state),
// so that it costs a few stores and compares rather than calls.
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

namespace detail {
// Set once at boot (user_mode_init_cpu): XSAVE, else FXSAVE.
extern bool g_fpu_xsave;
}  // namespace detail

// XSAVE and XRSTOR act on XCR0 AND EDX:EAX (SDM vol. 1, 13.8 and 13.9): an all-ones mask means
// every component the kernel enabled in XCR0, with no mask to load.
inline void fpu_save(void* area) {
  if (detail::g_fpu_xsave) {
    asm volatile("xsave64 (%0)" ::"r"(area), "a"(~0u), "d"(~0u) : "memory");
  } else {
    asm volatile("fxsave64 (%0)" ::"r"(area) : "memory");
  }
}

inline void fpu_restore(const void* area) {
  if (detail::g_fpu_xsave) {
    asm volatile("xrstor64 (%0)" ::"r"(area), "a"(~0u), "d"(~0u) : "memory");
  } else {
    asm volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
  }
}

}  // namespace exo::arch
