// Per-CPU data: one block per CPU in static storage, reached on its own CPU through the GS base
// (%gs:0 holds the block's own address, so a single load finds it).
#pragma once

#include "kernel/arch/user.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/percpu_offsets.h"
#include "kernel/lib/types.h"

namespace exo::arch {

// Static limit on CPUs until the memory work can allocate per-CPU blocks and stacks.
inline constexpr uint32_t kMaxCpus = 16;

struct PerCpu {
  PerCpu* self;    // must stay first: percpu::current() reads %gs:0
  // The syscall entry (syscall_entry.S) reaches these two by fixed offset before it has a
  // stack: the running thread's kernel stack top, and a slot for the user rsp meanwhile.
  uptr kernel_stack_top;
  uptr user_rsp_scratch;
  Tss* tss;        // this CPU's TSS (rsp0 follows the running thread's kernel stack)
  // The running user thread's "stop before returning to ring 3" flag (a static false for
  // kernel threads); the syscall exit tests it with one load and one compare.
  const bool* user_exit_flag;
  uint32_t index;  // dense: 0 is the boot CPU, then the MADT's order
  uint32_t apic_id;
  uint32_t node;  // NUMA proximity domain from the SRAT; 0 without one
  bool online;    // set by the CPU itself once it can take interrupts (atomic access)
  // Counters, written only by the owning CPU (interrupt context), read by anyone atomically.
  uint64_t timer_ticks;
  uint64_t reschedule_ipis;
  uint64_t tlb_shootdowns;
  uint64_t test_ipis;
  uptr stack_top;              // the kernel stack it started on (application processors)
  uint8_t* io_bitmap;          // this CPU's TSS I/O bitmap
  // What the bitmap holds open: the generation of the IoPermissions loaded, and a copy of
  // their ranges (to close them without reaching a process that may be gone).
  uint64_t io_loaded_generation;
  IoPermissions::Range io_open[IoPermissions::kMaxRanges];
  usize io_open_count;
  CpuDescriptorTables tables;  // application processors only; the boot CPU's live in gdt.cc
};
// percpu::current() relies on the self pointer being the first word.
static_assert(__builtin_offsetof(PerCpu, self) == 0);
static_assert(__builtin_offsetof(PerCpu, kernel_stack_top) == EXO_PERCPU_KERNEL_STACK_TOP);
static_assert(__builtin_offsetof(PerCpu, user_rsp_scratch) == EXO_PERCPU_USER_RSP_SCRATCH);
static_assert(__builtin_offsetof(PerCpu, user_exit_flag) == EXO_PERCPU_USER_EXIT_FLAG);

namespace percpu {

// The calling CPU's block. Precondition: install() ran on this CPU (smp_init() does it for the
// boot CPU, ap_main for the others); before that GS base is 0 and this faults.
inline PerCpu& current() {
  return *reinterpret_cast<PerCpu*>(read_gs_u64(0));
}

// The calling CPU's dense index in one GS-relative load (current().index takes three). The
// caller must not be able to migrate in between (interrupts or preemption off) if it uses the
// index for more than a hint. Same precondition as current().
inline uint32_t current_index() {
  return read_gs_u32<__builtin_offsetof(PerCpu, index)>();
}

// Block `index` (< kMaxCpus), online or not.
PerCpu& cpu(uint32_t index);

// Points the calling CPU's GS base at `block` and sets its self pointer.
void install(PerCpu& block);

// Whether install() has run on the boot CPU.
bool boot_cpu_installed();

}  // namespace percpu
}  // namespace exo::arch
