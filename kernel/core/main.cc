// kernel_main: the boot order, from the multiboot2 hand-off to the first idle loop.
#include "kernel/arch/arch.h"
#include "kernel/boot/multiboot2.h"
#include "kernel/core/boot_info.h"
#include "kernel/core/console.h"
#include "kernel/core/exit_status.h"
#include "kernel/core/panic.h"
#include "kernel/lib/cmdline.h"
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

const boot::BootInfo& parse_boot_info(uint32_t magic, uint32_t info_phys) {
  if (magic != boot::kMultiboot2BootloaderMagic) {
    boot_failure("bootloader magic is not the multiboot2 value", 0);
  }
  if (info_phys == 0 || (info_phys & 7) != 0) boot_failure("information pointer null or misaligned", 0);
  const auto* info = reinterpret_cast<const uint8_t*>(kDirectMapBase + info_phys);
  uint32_t total_size = load_le<uint32_t>(info);
  if (total_size > kMaxBootInfoSize) boot_failure("total_size larger than 1 MiB", 0);
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
  uint64_t banner_cycles = arch::cycle_counter() - arch::boot_cycle_counter();

  kprint("\nExo {} (x86_64) booted: {} MiB usable RAM, {} boot modules, command line \"{}\"\n",
         kVersion, usable_ram_bytes(info) / MiB, info.module_count, info.cmdline);
  kprint("start-up: {} cycles from the multiboot entry to this banner (instructions under -icount)\n",
         banner_cycles);

  Cmdline cmdline(info.cmdline);
  char suite[64];
  if (cmdline.get("ktest", suite, sizeof(suite))) {
    int failures = ktest::run(suite);
    arch::power_off(static_cast<uint32_t>(failures == 0 ? ExitStatus::kSuccess : ExitStatus::kTestFailure));
  }

  if (cmdline.has("shutdown")) {
    // Calibrating takes 10 ms, so it runs after the start-up figure was taken at the banner.
    arch::calibrate_cycle_counter();
    uint64_t hz = arch::cycle_counter_hz();
    kprint("shutdown: start-up took {} us ({} cycles at {} kHz); powering off\n",
           hz != 0 ? banner_cycles * 1000000 / hz : 0, banner_cycles, hz / 1000);
    arch::power_off(static_cast<uint32_t>(ExitStatus::kSuccess));
  }

  kprint("Exo: nothing more to start yet; halting. (Ctrl-A X leaves QEMU)\n");
  arch::halt_forever();
}
