// kernel_main: the boot order, from the multiboot2 hand-off to the first idle loop.
#include "kernel/arch/arch.h"
#include "kernel/arch/user.h"
#include "kernel/proc/process.h"
#include "kernel/arch/x86_64/interrupts.h"
#include "kernel/boot/multiboot2.h"
#include "kernel/core/boot_info.h"
#include "kernel/core/console.h"
#include "kernel/core/exit_status.h"
#include "kernel/core/panic.h"
#include "kernel/lib/cmdline.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/thread.h"
#include "kernel/test/kbench.h"
#include "kernel/time/clock.h"
#include "kernel/test/ktest.h"

namespace exo {
namespace {

constexpr const char* kVersion = "0.1.0";

// Physical memory is reachable through the direct map the boot page tables set up (boot.S).
constexpr uptr kDirectMapBase = 0xffff800000000000;
// A multiboot2 information structure larger than this is treated as malformed.
constexpr uint32_t kMaxBootInfoSize = 1 * MiB;

constinit boot::BootInfo g_boot_info = {};

[[noreturn]] void boot_failure(const char* what, usize offset) {
  kprint("Exo: malformed multiboot2 information: {} (at byte {}); halting.\n", what, offset);
  arch::power_off(static_cast<uint32_t>(ExitStatus::kBootFailure));
}

constinit uint32_t g_boot_info_size = 0;

const boot::BootInfo& parse_boot_info(uint32_t magic, uint32_t info_phys) {
  if (magic != boot::kMultiboot2BootloaderMagic) {
    boot_failure("bootloader magic is not the multiboot2 value", 0);
  }
  if (info_phys == 0 || (info_phys & 7) != 0) boot_failure("information pointer null or misaligned", 0);
  const auto* info = reinterpret_cast<const uint8_t*>(kDirectMapBase + info_phys);
  uint32_t total_size = load_le<uint32_t>(info);
  if (total_size > kMaxBootInfoSize) boot_failure("total_size larger than 1 MiB", 0);
  g_boot_info_size = total_size;
  loader::ParseDiagnostic diagnostic{};
  Status parsed = boot::parse_multiboot2(ByteSpan(info, total_size), &g_boot_info, &diagnostic);
  if (!parsed.ok()) boot_failure(diagnostic.what, diagnostic.offset);
  return g_boot_info;
}

uint64_t usable_ram_bytes(const boot::BootInfo& info) {
  uint64_t total = 0;
  for (usize i = 0; i < info.memory_count; ++i) {
    if (info.memory[i].type == 1) total += info.memory[i].length;
  }
  return total;
}

}  // namespace

const boot::BootInfo& boot_info() { return g_boot_info; }

}  // namespace exo

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint32_t info_phys) {
  using namespace exo;
  arch::early_init();
  const boot::BootInfo& info = parse_boot_info(magic, info_phys);
  arch::drop_identity_map();
  mm::init(info, mm::PhysRange{info_phys, g_boot_info_size});
  uint64_t banner_cycles = arch::cycle_counter() - arch::boot_cycle_counter();
  arch::user_mode_init_cpu();

  kprint("\nExo {} (x86_64) booted: {} MiB usable RAM, {} boot modules, command line \"{}\"\n",
         kVersion, usable_ram_bytes(info) / MiB, info.module_count, info.cmdline);
  kprint("start-up: {} cycles from the multiboot entry to this banner, memory ready "
         "(instructions under -icount)\n", banner_cycles);

  // Measuring the cycle counter takes 10 ms against the PIT, so it comes after the start-up
  // figure; SMP bring-up and the scheduler need it.
  clock::init();
  Status smp = arch::smp_init();
  if (!smp.ok()) kprint("smp: bring-up failed ({}); continuing on the boot CPU\n", smp.error());
  scheduler_init_boot_cpu();
  scheduler_start_secondary_cpus();
  proc::init();
  // kernel_main is a thread like any other from here on: it takes interrupts (timer,
  // reschedule, TLB shootdown). Until now they were off, since the boot stub's cli.
  arch::irq_restore(arch::kRflagsInterruptEnable);
  mm::FrameCounts frames = mm::frame_counts();
  kprint("memory: {} MiB usable, {} MiB free, {} KiB reserved; {} CPUs online\n",
         frames.total * 4 / 1024, frames.free * 4 / 1024, frames.reserved * 4, arch::cpu_count());

  Cmdline cmdline(info.cmdline);
  char bench[64];
  if (cmdline.get("kbench", bench, sizeof(bench))) {
    bool ran = kbench::run(bench);
    arch::power_off(static_cast<uint32_t>(ran ? ExitStatus::kSuccess : ExitStatus::kTestFailure));
  }
  char suite[64];
  if (cmdline.get("ktest", suite, sizeof(suite))) {
    int failures = ktest::run(suite);
    arch::power_off(static_cast<uint32_t>(failures == 0 ? ExitStatus::kSuccess : ExitStatus::kTestFailure));
  }

  if (cmdline.has("shutdown")) {
    uint64_t hz = arch::cycle_counter_hz();
    kprint("shutdown: start-up took {} us ({} cycles at {} kHz); powering off\n",
           hz != 0 ? banner_cycles * 1000000 / hz : 0, banner_cycles, hz / 1000);
    arch::power_off(static_cast<uint32_t>(ExitStatus::kSuccess));
  }

  // Everything else runs in ring 3, started by init (docs/syscalls.md, "Process start").
  Status init = proc::start_init(info.cmdline);
  if (!init.ok()) {
    kprint("Exo: init could not be started ({}); halting. (Ctrl-A X leaves QEMU)\n", init.error());
    arch::halt_forever();
  }
  // The boot thread has nothing left to do; it has no stack of its own to free, so it sleeps.
  for (;;) thread_sleep_ns(uint64_t{1} << 62);
}
