// Per-CPU blocks in static storage and their installation through the GS base.
#include "kernel/arch/x86_64/percpu.h"

#include "kernel/arch/x86_64/cpu.h"

namespace exo::arch::percpu {
namespace {

alignas(64) constinit PerCpu g_blocks[kMaxCpus] = {};
constinit bool g_boot_installed = false;
constinit const bool g_never = false;

}  // namespace

PerCpu& cpu(uint32_t index) {
  return g_blocks[index];
}

void install(PerCpu& block) {
  block.self = &block;
  block.tss = block.index == 0 ? boot_tss() : &block.tables.tss;
  block.io_bitmap = block.index == 0 ? boot_io_bitmap() : block.tables.io_bitmap;
  block.io_loaded_generation = 0;
  block.io_open_count = 0;
  block.user_exit_flag = &g_never;
  // GS base is the block whenever the CPU runs kernel code; ring 3 runs with the user's GS
  // (always 0: user programs cannot set it), the entries from ring 3 swap the two
  // (swapgs, IA32_KERNEL_GS_BASE; syscall_entry.S, exception_entry.S).
  wrmsr(msr::kGsBase, reinterpret_cast<uint64_t>(&block));
  wrmsr(msr::kKernelGsBase, 0);
  // rdtscp returns IA32_TSC_AUX in ecx: the CPU index, so ring 3 can tell where it runs (as
  // Linux's getcpu does; Intel SDM vol. 2B, RDTSCP). Without RDTSCP the MSR does not exist.
  if ((cpuid(0x80000001).edx & cpuid_bits::kLeaf80000001EdxRdtscp) != 0) {
    wrmsr(msr::kTscAux, block.index);
  }
  if (block.index == 0) g_boot_installed = true;
}

bool boot_cpu_installed() {
  return g_boot_installed;
}

}  // namespace exo::arch::percpu
