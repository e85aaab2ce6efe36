// x86_64's inline part of the arch seam (kernel/arch/arch.h): the accessors that every thread
// switch calls, defined here so each costs an instruction or two rather than a call.
#pragma once

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/lib/types.h"

extern "C" uint64_t exo_boot_tsc;  // boot.S: the TSC at the multiboot entry

namespace exo::arch {

inline uint64_t cycle_counter() { return rdtsc(); }
inline uint64_t boot_cycle_counter() { return exo_boot_tsc; }
// One GS-relative load. early_init installs the boot CPU's block, so this is valid from there.
inline uint32_t current_cpu() {
  uint64_t index = read_gs_u32<__builtin_offsetof(PerCpu, index)>();
  __builtin_assume(index <= 0xffffffffu);  // so using it as an array index needs no extension
  return static_cast<uint32_t>(index);
}

}  // namespace exo::arch

// set_user_thread (kernel/arch/user.h), also on every switch.
#include "kernel/arch/x86_64/user_inline.h"
