// The kernel's monotonic clock: nanoseconds since boot, from the CPU's cycle counter (TSC).
#pragma once

#include "kernel/lib/types.h"

namespace exo::clock {

// Measures the cycle counter's frequency (10 ms against the PIT) and fixes the conversion.
// Boot order: before anything reads now_ns(); boot CPU, once.
void init();

// Nanoseconds since the multiboot entry. Monotonic on each CPU; the TSC is invariant on every
// CPU we support (CPUID 80000007h:EDX[8]), and QEMU keeps the CPUs' TSCs in step.
uint64_t now_ns();

// Converts a cycle-counter interval to nanoseconds.
uint64_t cycles_to_ns(uint64_t cycles);
uint64_t ns_to_cycles(uint64_t ns);

}  // namespace exo::clock
