// Per-CPU blocks in static storage and their installation through the GS base.
#include "kernel/arch/x86_64/percpu.h"

#include "kernel/arch/x86_64/cpu.h"

namespace exo::arch::percpu {
namespace {

alignas(64) constinit PerCpu g_blocks[kMaxCpus] = {};
constinit bool g_boot_installed = false;

}  // namespace

PerCpu& cpu(uint32_t index) {
  return g_blocks[index];
}

void install(PerCpu& block) {
  block.self = &block;
  // No ring 3 yet, so no swapgs: GS base is the kernel's at all times. The syscall/interrupt
  // entry from user mode must add swapgs with IA32_KERNEL_GS_BASE (docs/smp.md).
  wrmsr(msr::kGsBase, reinterpret_cast<uint64_t>(&block));
  if (block.index == 0) g_boot_installed = true;
}

bool boot_cpu_installed() {
  return g_boot_installed;
}

}  // namespace exo::arch::percpu
