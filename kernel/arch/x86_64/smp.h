// SMP bring-up on x86_64: CPU discovery from the ACPI MADT/SRAT, AP start-up through the
// INIT-SIPI-SIPI sequence, per-CPU interrupt set-up, and the IPIs the scheduler and the memory
// code need (reschedule, TLB shootdown). The generic entry points are declared in
// kernel/arch/arch.h; this header adds the x86_64-specific ones. docs/smp.md has the design.
#pragma once

#include "kernel/acpi/madt.h"

#include "kernel/arch/x86_64/percpu.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::arch {

// Physical page the trampoline is copied to (SIPI vector kApTrampolinePhys >> 12). Nothing else
// may use it while smp_init() runs; the memory work must keep it out of the frame allocator.
inline constexpr uptr kApTrampolinePhys = 0x8000;

// Per-AP kernel stack size (static, no guard page: temporary until the memory work).
inline constexpr usize kApStackSize = 16 * 1024;

// CPUs the firmware describes: enabled local APIC / x2APIC entries of the MADT (1 without
// ACPI), before the kMaxCpus cap. Valid after smp_init().
uint32_t cpu_count_described();

// I/O APIC redirection entries smp_init() masked (all of them, on every MADT I/O APIC).
uint32_t ioapic_entries_masked();

// Block of online CPU `index` (< cpu_count()).
PerCpu& cpu_block(uint32_t index);

// Hooks for the scheduler: called in interrupt context on the CPU that took the interrupt,
// after the per-CPU counter moved and before EOI. nullptr removes the hook.
void set_timer_hook(void (*hook)());
void set_reschedule_hook(void (*hook)());

// The parsed MADT (I/O APICs, ISA overrides); empty before smp_init() or without one.
const acpi::MadtInfo& madt_info();

}  // namespace exo::arch
