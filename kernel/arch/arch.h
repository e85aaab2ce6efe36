// The seam between generic kernel code and the architecture: everything under kernel/ outside
// kernel/arch reaches the hardware only through these declarations. A port provides each one.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::arch {

// Brings up what printing and trapping need: console UART, GDT/TSS, IDT. Boot CPU, interrupts
// off, called once before anything prints.
void early_init();

// Removes the boot stub's identity mapping of low memory once the kernel runs in the higher
// half, so a null or small-integer pointer faults instead of touching physical memory.
void drop_identity_map();

// Writes raw bytes to the boot console (polled; safe in any context, including traps).
void console_write(const char* text, usize length);

// A monotonic per-CPU cycle counter. Under QEMU with -icount shift=0 it counts instructions.
//   uint64_t cycle_counter();
// The counter's value at the first instruction of the kernel (the multiboot entry).
//   uint64_t boot_cycle_counter();
// (Both inline, from the architecture's arch_inline.h, included at the end of this file.)
// Counter ticks per second, measured once against a fixed-frequency timer (0 until measured).
uint64_t cycle_counter_hz();
void calibrate_cycle_counter();

// Leaves the machine with `status`: QEMU's isa-debug-exit device when present, else halts.
[[noreturn]] void power_off(uint32_t status);
[[noreturn]] void halt_forever();

// Calls visit(return_address) for each frame of the frame-pointer chain starting at `frame`,
// at most `max_frames` times, stopping at anything that does not look like a kernel frame.
void walk_stack(uptr frame, void (*visit)(void* context, uptr return_address), void* context,
                int max_frames);
// The current frame pointer.
uptr current_frame();

// ---- Multiprocessing (x86_64: kernel/arch/x86_64/smp.cc, docs/smp.md) ----

// Brings up every CPU the firmware describes: the boot CPU's interrupt controller, timer and
// per-CPU block, then each application processor, which ends idle with interrupts on. Boot
// CPU, interrupts off, after early_init() and the multiboot2 parse (it reads the ACPI RSDP from
// boot_info()). Idempotent: later calls return the first call's result. On error the boot CPU
// keeps working alone (cpu_count() tells how many came up).
Status smp_init();
// CPUs online (1 before smp_init()).
uint32_t cpu_count();
// The calling CPU's dense index, 0 for the boot CPU. Precondition: early_init() ran. Inline,
// from arch_inline.h:
//   uint32_t current_cpu();
// The NUMA node (ACPI proximity domain) of CPU `cpu` (< cpu_count()); 0 without an SRAT.
uint32_t cpu_node(uint32_t cpu);
// Interrupts CPU `cpu` so it re-runs its scheduler (see set_reschedule_hook in the arch code).
// No-op for an offline or unknown CPU. Any context.
void send_reschedule(uint32_t cpu);
// Invalidates `address` (or the whole TLB, global entries included) on this CPU and every
// other online CPU, returning once all have acknowledged. Not from interrupt context; callers
// serialise on an internal lock, which services incoming shootdowns while it spins.
void tlb_shootdown(uptr address);
// The same for `count` pages in one round of IPIs and acknowledgements; `pages` must stay valid
// until the call returns.
void tlb_shootdown_pages(const uptr* pages, usize count);
void tlb_shootdown_all();
// One-shot timer interrupt on the calling CPU at cycle_counter() value `deadline`.
void timer_arm_at(uint64_t deadline);
// Cancels the calling CPU's pending one-shot timer (tickless idle).
void timer_cancel();

// Scheduler hooks. `preempt` runs after the EOI of every device interrupt, in interrupt context
// with interrupts off, on the interrupted thread's stack: it may switch threads (the interrupt
// frame stays on that stack until the thread runs again). `ap_entry` is where each
// application processor goes once the scheduler starts (start_secondary_cpus); it never
// returns.
void set_preempt_hook(void (*preempt)());

// ---- Device interrupts for user-space drivers (x86_64: ISA lines through the I/O APIC) ----

// Routes ISA interrupt line `irq` (0..15; the MADT's overrides say which global interrupt and
// polarity it is) to the boot CPU, masked, with `handler(irq)` to run in interrupt context
// when it fires. kInvalidArgument for a line out of range, kNotFound without an I/O APIC for
// it. Routing the same line again replaces nothing but the handler.
Status isa_irq_route(uint32_t irq, void (*handler)(uint32_t irq));
void isa_irq_set_masked(uint32_t irq, bool masked);
void start_secondary_cpus(void (*ap_entry)(uint32_t cpu));

}  // namespace exo::arch

// The hot accessors above, inline: a port supplies the same header for its architecture.
#include "kernel/arch/x86_64/arch_inline.h"
