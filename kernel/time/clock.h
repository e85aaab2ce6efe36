// The kernel's monotonic clock: nanoseconds since boot, from the CPU's cycle counter (TSC).
#pragma once

#include "kernel/arch/arch.h"
#include "kernel/lib/types.h"

namespace exo::clock {

// Measures the cycle counter's frequency (10 ms against the PIT) and fixes the conversion.
// Boot order: before anything reads now_ns(); boot CPU, once.
void init();

namespace detail {
// Nanoseconds per cycle in 32.32 fixed point, set once by init() (clock.cc).
extern uint64_t g_ns_per_cycle_q32;
}  // namespace detail

// Converts a cycle-counter interval to nanoseconds.
inline uint64_t cycles_to_ns(uint64_t cycles) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(cycles) * detail::g_ns_per_cycle_q32) >> 32);
}
uint64_t ns_to_cycles(uint64_t ns);

// Nanoseconds since the multiboot entry. Monotonic on each CPU; the TSC is invariant on every
// CPU we support (CPUID 80000007h:EDX[8]), and QEMU keeps the CPUs' TSCs in step. Inline: every
// thread switch reads it for slice accounting.
inline uint64_t now_ns() { return cycles_to_ns(arch::cycle_counter() - arch::boot_cycle_counter()); }

}  // namespace exo::clock
