// SMP bring-up: CPU discovery through kernel/acpi (MADT, SRAT), INIT-SIPI-SIPI start-up of the
// application processors, their first C++ code, and the reschedule / TLB-shootdown / timer
// interrupt handlers.
#include "kernel/arch/x86_64/smp.h"

#include "kernel/acpi/madt.h"
#include "kernel/acpi/srat.h"
#include "kernel/acpi/tables.h"
#include "kernel/arch/user.h"
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/interrupts.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/ioapic.h"
#include "kernel/core/boot_info.h"
#include "kernel/core/console.h"
#include "kernel/lib/span.h"
#include "kernel/lib/utility.h"

extern "C" const uint8_t exo_ap_trampoline_start[];
extern "C" const uint8_t exo_ap_trampoline_end[];
extern "C" const uint8_t exo_ap_trampoline_params[];
extern "C" void exo_ap_long_mode_entry();

namespace exo::arch {
namespace {

constexpr uptr kDirectMapBase = 0xffff800000000000;
constexpr uptr kKernelVma = 0xffffffff80000000;
constexpr usize kPageSize = 4096;

// The trampoline's parameter block (ap_boot.S, exo_ap_trampoline_params): keep in step.
struct ApTrampolineParams {
  uint64_t trampoline_cr3;
  uint64_t kernel_cr3;
  uint64_t stack_top;
  uint64_t cpu_index;
  uint64_t entry;
  uint64_t cr4;
  uint64_t efer;
  uint64_t cr0;
};

// ---- Firmware tables ------------------------------------------------------------------------

struct CpuDescription {
  uint32_t apic_id;
  uint32_t node;
};

struct Topology {
  CpuDescription cpus[kMaxCpus];
  uint32_t count;           // entries in cpus (capped at kMaxCpus)
  uint32_t described;       // enabled CPUs in the MADT, uncapped
  uint32_t ioapics_masked;  // redirection entries masked across the MADT's I/O APICs
};

// ACPI tables are read through the boot direct map, so they must lie below 4 GiB.
ByteSpan map_direct(void*, uint64_t physical, usize size) {
  if (physical >= 4 * GiB || size > 4 * GiB - physical) return ByteSpan();
  return ByteSpan(reinterpret_cast<const uint8_t*>(kDirectMapBase + physical), size);
}

// Parser results are large (hundreds of entries); they live here rather than on the stack.
constinit acpi::TableDirectory g_acpi_tables = {};
constinit acpi::MadtInfo g_madt = {};
constinit acpi::SratInfo g_srat = {};

void report_acpi_problem(const char* table, const loader::ParseDiagnostic& diagnostic) {
  kprint("smp: unusable ACPI {}: {} (at {:#x})\n", table,
         diagnostic.what != nullptr ? diagnostic.what : "?", diagnostic.offset);
}

// Fills *out from the MADT: the boot CPU first, then every other enabled CPU in firmware order
// ("online capable" ones are hot-plug slots and are not started). Node numbers come from the
// SRAT when there is one. Every I/O APIC the MADT lists gets all its entries masked on the way.
// Without usable tables only the boot CPU is described.
void discover(uint32_t boot_apic_id, Topology* out) {
  *out = Topology{};
  out->cpus[0] = CpuDescription{boot_apic_id, 0};
  out->count = 1;
  out->described = 1;
  const boot::BootInfo& info = boot_info();
  if (info.rsdp == nullptr) return;
  acpi::PhysReader memory{&map_direct, nullptr};
  loader::ParseDiagnostic diagnostic{};
  if (!acpi::read_root(ByteSpan(info.rsdp, info.rsdp_size), memory, &g_acpi_tables, &diagnostic)
           .ok()) {
    report_acpi_problem("root tables", diagnostic);
    return;
  }

  bool have_srat = false;
  Result<ByteSpan> srat = acpi::find_table(g_acpi_tables, memory, "SRAT", 0, &diagnostic);
  if (srat.ok()) {
    have_srat = acpi::parse_srat(*srat, &g_srat, &diagnostic).ok();
    if (!have_srat) report_acpi_problem("SRAT", diagnostic);
  }
  auto node_of = [&](uint32_t apic_id) -> uint32_t {
    return have_srat ? acpi::node_of_apic(g_srat, apic_id).value_or(0) : 0;
  };
  out->cpus[0].node = node_of(boot_apic_id);

  Result<ByteSpan> madt = acpi::find_table(g_acpi_tables, memory, "APIC", 0, &diagnostic);
  if (!madt.ok()) return;
  if (!acpi::parse_madt(*madt, &g_madt, &diagnostic).ok()) {
    report_acpi_problem("MADT", diagnostic);
    return;
  }
  for (usize i = 0; i < g_madt.io_apic_count; ++i) {
    out->ioapics_masked += ioapic::mask_all(g_madt.io_apics[i].address);
  }
  uint32_t described = 0;
  for (usize i = 0; i < g_madt.cpu_count; ++i) {
    const acpi::MadtCpu& cpu = g_madt.cpus[i];
    if (!cpu.enabled) continue;
    ++described;
    if (cpu.apic_id == boot_apic_id || out->count == kMaxCpus) continue;
    // xAPIC only for now (apic.h): ids from 255 up need x2APIC mode.
    if (cpu.apic_id >= 0xff) continue;
    out->cpus[out->count++] = CpuDescription{cpu.apic_id, node_of(cpu.apic_id)};
  }
  if (described != 0) out->described = described;
}

// ---- State ----------------------------------------------------------------------------------

constinit bool g_initialized = false;
constinit Error g_init_error = Error::kInvalidArgument;
constinit bool g_init_ok = false;
constinit uint32_t g_online = 1;
constinit uint32_t g_described = 1;
constinit uint32_t g_ioapic_entries_masked = 0;

constinit void (*g_timer_hook)() = nullptr;
constinit void (*g_reschedule_hook)() = nullptr;
constinit void (*g_ap_scheduler_entry)(uint32_t) = nullptr;
constinit uint64_t g_apic_errors = 0;

alignas(16) constinit uint8_t g_ap_stacks[kMaxCpus][kApStackSize] = {};
alignas(16) constinit uint8_t g_ap_ist_stacks[kMaxCpus][3][kIstStackSize] = {};
alignas(kPageSize) constinit uint64_t g_trampoline_pml4[512] = {};
alignas(kPageSize) constinit uint64_t g_trampoline_pdpt[512] = {};
alignas(kPageSize) constinit uint64_t g_trampoline_pd[512] = {};

// TLB shootdown: one request at a time under g_shootdown_lock; `targets` holds a bit per CPU
// index still to acknowledge. `pages` is the initiator's list, which stays valid until every
// target has acknowledged (the initiator waits for that before returning).
struct Shootdown {
  const uptr* pages;
  usize count;
  bool all;
  uint64_t targets;
};
constinit Shootdown g_shootdown = {};
constinit bool g_shootdown_lock = false;


void delay_us(uint64_t microseconds) {
  uint64_t ticks = cycle_counter_hz() / 1000000 * microseconds;
  uint64_t start = rdtsc();
  while (rdtsc() - start < ticks) pause();
}

// Drops every TLB entry, global ones included: toggling CR4.PGE does that, a CR3 reload keeps
// global entries (Intel SDM vol. 3, 4.10.4.1).
void flush_tlb_everything() {
  constexpr uint64_t kCr4Pge = 1u << 7;
  uint64_t cr4 = read_cr4();
  if ((cr4 & kCr4Pge) != 0) {
    write_cr4(cr4 & ~kCr4Pge);
    write_cr4(cr4);
  } else {
    write_cr3(read_cr3());
  }
}

uptr physical_of_kernel(const void* p) {
  return reinterpret_cast<uptr>(p) - kKernelVma;
}

// ---- Interrupt handlers ---------------------------------------------------------------------

void on_timer(TrapFrame&) {
  __atomic_fetch_add(&percpu::current().timer_ticks, 1, __ATOMIC_RELAXED);
  auto hook = __atomic_load_n(&g_timer_hook, __ATOMIC_ACQUIRE);
  if (hook != nullptr) hook();
}

void on_reschedule(TrapFrame&) {
  __atomic_fetch_add(&percpu::current().reschedule_ipis, 1, __ATOMIC_RELAXED);
  auto hook = __atomic_load_n(&g_reschedule_hook, __ATOMIC_ACQUIRE);
  if (hook != nullptr) hook();
}

// Carries out the pending shootdown if it names this CPU. Interrupts off.
void service_shootdown() {
  PerCpu& self = percpu::current();
  uint64_t bit = uint64_t{1} << self.index;
  if ((__atomic_load_n(&g_shootdown.targets, __ATOMIC_ACQUIRE) & bit) == 0) return;
  if (g_shootdown.all) {
    flush_tlb_everything();
  } else {
    for (usize i = 0; i < g_shootdown.count; ++i) invlpg(g_shootdown.pages[i]);
  }
  __atomic_fetch_add(&self.tlb_shootdowns, 1, __ATOMIC_RELAXED);
  __atomic_fetch_and(&g_shootdown.targets, ~bit, __ATOMIC_RELEASE);
}

void on_tlb_shootdown(TrapFrame&) {
  service_shootdown();
}

void on_apic_error(TrapFrame&) {
  __atomic_fetch_add(&g_apic_errors, 1, __ATOMIC_RELAXED);
}

void on_spurious(TrapFrame&) {}

// One request, one IPI per target and one round of acknowledgements, however many pages.
void shootdown(const uptr* pages, usize count, bool all) {
  InterruptsOff guard;  // ICR writes must not interleave on one CPU
  while (__atomic_exchange_n(&g_shootdown_lock, true, __ATOMIC_ACQUIRE)) {
    // Another CPU is shooting down and may be waiting for us: answer it while we spin, since
    // our interrupts are off.
    if (percpu::boot_cpu_installed()) service_shootdown();
    pause();
  }
  if (all) {
    flush_tlb_everything();
  } else {
    for (usize i = 0; i < count; ++i) invlpg(pages[i]);
  }
  uint32_t self = percpu::boot_cpu_installed() ? percpu::current().index : 0;
  uint64_t targets = 0;
  for (uint32_t i = 0; i < kMaxCpus; ++i) {
    if (i != self && __atomic_load_n(&percpu::cpu(i).online, __ATOMIC_ACQUIRE))
      targets |= uint64_t{1} << i;
  }
  if (targets != 0) {
    g_shootdown.pages = pages;
    g_shootdown.count = count;
    g_shootdown.all = all;
    __atomic_store_n(&g_shootdown.targets, targets, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < kMaxCpus; ++i) {
      if ((targets & (uint64_t{1} << i)) != 0) {
        (void)lapic::send_fixed(percpu::cpu(i).apic_id, kVectorTlbShootdown);
      }
    }
    while (__atomic_load_n(&g_shootdown.targets, __ATOMIC_ACQUIRE) != 0) pause();
  }
  __atomic_store_n(&g_shootdown_lock, false, __ATOMIC_RELEASE);
}

// ---- Start-up -------------------------------------------------------------------------------

// A page table for the trampoline: the first 2 MiB identity-mapped (executable, for the code
// at kApTrampolinePhys) plus the kernel half of the current address space, shared.
uint64_t build_trampoline_page_table() {
  constexpr uint64_t kPresent = 1, kWritable = 2, kLarge = 1u << 7;
  g_trampoline_pd[0] = 0 | kPresent | kWritable | kLarge;
  g_trampoline_pdpt[0] = physical_of_kernel(g_trampoline_pd) | kPresent | kWritable;
  g_trampoline_pml4[0] = physical_of_kernel(g_trampoline_pdpt) | kPresent | kWritable;
  const auto* kernel_pml4 =
      reinterpret_cast<const uint64_t*>(kDirectMapBase + (read_cr3() & ~uint64_t{0xfff}));
  for (usize i = 256; i < 512; ++i) g_trampoline_pml4[i] = kernel_pml4[i];
  return physical_of_kernel(g_trampoline_pml4);
}

// True when a pointer the boot information hands out lies in the trampoline page, which the
// copy would overwrite.
bool boot_info_overlaps_trampoline() {
  const boot::BootInfo& info = boot_info();
  uptr low = kDirectMapBase + kApTrampolinePhys, high = low + kPageSize;
  auto inside = [&](const void* p) {
    auto a = reinterpret_cast<uptr>(p);
    return a >= low && a < high;
  };
  return inside(info.cmdline) || inside(info.rsdp) || inside(info.bootloader_name);
}

// INIT-SIPI-SIPI (Intel SDM vol. 3, 9.4.4.1 and its timing: 10 ms after INIT, 200 us between
// the start-ups), then waits up to a second for the AP to report online.
Status start_ap(uint32_t index, uint64_t trampoline_cr3) {
  PerCpu& block = percpu::cpu(index);
  block.stack_top = reinterpret_cast<uptr>(&g_ap_stacks[index][0]) + kApStackSize;
  auto* params = reinterpret_cast<volatile ApTrampolineParams*>(
      kDirectMapBase + kApTrampolinePhys + (exo_ap_trampoline_params - exo_ap_trampoline_start));
  params->trampoline_cr3 = trampoline_cr3;
  params->kernel_cr3 = read_cr3();
  params->stack_top = block.stack_top;
  params->cpu_index = index;
  params->entry = reinterpret_cast<uint64_t>(&exo_ap_long_mode_entry);
  params->cr4 = read_cr4();
  params->efer = rdmsr(msr::kEfer);
  params->cr0 = read_cr0();
  mfence();

  constexpr auto kVector = static_cast<uint8_t>(kApTrampolinePhys >> 12);
  EXO_TRY(lapic::send_init(block.apic_id));
  EXO_TRY(lapic::send_init_deassert(block.apic_id));
  delay_us(10000);
  for (int i = 0; i < 2; ++i) {
    EXO_TRY(lapic::send_startup(block.apic_id, kVector));
    delay_us(200);
    if (__atomic_load_n(&block.online, __ATOMIC_ACQUIRE)) return ok_status();
  }
  uint64_t start = rdtsc();
  while (rdtsc() - start < cycle_counter_hz()) {
    if (__atomic_load_n(&block.online, __ATOMIC_ACQUIRE)) return ok_status();
    pause();
  }
  return Error::kTimedOut;
}

Status bring_up() {
  PerCpu& boot = percpu::cpu(0);
  boot.index = 0;
  percpu::install(boot);
  legacy_pic_disable();
  EXO_TRY(lapic::init());
  set_interrupt_handler(kVectorLocalTimer, &on_timer);
  set_interrupt_handler(kVectorReschedule, &on_reschedule);
  set_interrupt_handler(kVectorTlbShootdown, &on_tlb_shootdown);
  set_interrupt_handler(kVectorApicError, &on_apic_error);
  set_interrupt_handler(kVectorApicSpurious, &on_spurious);
  if (cycle_counter_hz() == 0) calibrate_cycle_counter();
  EXO_TRY(lapic::timer_init());

  boot.apic_id = lapic::id();
  Topology topology;
  discover(boot.apic_id, &topology);
  boot.node = topology.cpus[0].node;
  __atomic_store_n(&boot.online, true, __ATOMIC_RELEASE);
  g_described = topology.described;
  g_ioapic_entries_masked = topology.ioapics_masked;
  if (topology.described > kMaxCpus) {
    kprint("smp: the firmware describes {} CPUs; starting the first {} (kMaxCpus)\n",
           topology.described, kMaxCpus);
  }
  if (topology.count == 1) return ok_status();

  if (boot_info_overlaps_trampoline()) return Error::kBusy;
  usize trampoline_size = static_cast<usize>(exo_ap_trampoline_end - exo_ap_trampoline_start);
  // The parameter block closes the trampoline; a layout drift between ap_boot.S and the
  // struct would start APs with garbage, so refuse instead.
  if (exo_ap_trampoline_end - exo_ap_trampoline_params != sizeof(ApTrampolineParams) ||
      trampoline_size > kPageSize) {
    return Error::kMalformed;
  }
  __builtin_memcpy(reinterpret_cast<void*>(kDirectMapBase + kApTrampolinePhys),
                   exo_ap_trampoline_start, trampoline_size);
  uint64_t trampoline_cr3 = build_trampoline_page_table();

  Status result = ok_status();
  uint32_t index = 1;
  for (uint32_t i = 1; i < topology.count; ++i) {
    PerCpu& block = percpu::cpu(index);
    block.index = index;
    block.apic_id = topology.cpus[i].apic_id;
    block.node = topology.cpus[i].node;
    Status started = start_ap(index, trampoline_cr3);
    if (started.ok()) {
      ++index;
    } else {
      kprint("smp: cpu with APIC id {} did not start: {}\n", block.apic_id, started.error());
      result = started.error();
    }
  }
  // The page stays reserved (kApTrampolinePhys) for CPU hot-plug and resume; the identity
  // mapping lives only in the trampoline's own tables, never in the kernel's.
  return result;
}

}  // namespace

}  // namespace exo::arch

// First C++ code of an application processor, on its own stack with the kernel's page tables.
extern "C" [[noreturn]] void exo_ap_main(uint32_t index) {
  using namespace exo;
  using namespace exo::arch;
  PerCpu& self = percpu::cpu(index);
  idt_load();
  const uptr ist_tops[3] = {
      reinterpret_cast<uptr>(&g_ap_ist_stacks[index][0][0]) + kIstStackSize,
      reinterpret_cast<uptr>(&g_ap_ist_stacks[index][1][0]) + kIstStackSize,
      reinterpret_cast<uptr>(&g_ap_ist_stacks[index][2][0]) + kIstStackSize,
  };
  gdt_load(&self.tables, ist_tops);
  percpu::install(self);
  user_mode_init_cpu();
  // Nothing to report an error to yet: an AP whose APIC fails to enable never comes online
  // and the boot CPU times out on it.
  if (!lapic::init().ok()) halt_forever();
  self.apic_id = lapic::id();
  __atomic_fetch_add(&g_online, 1, __ATOMIC_ACQ_REL);
  __atomic_store_n(&self.online, true, __ATOMIC_RELEASE);
  // Idle until the scheduler takes over (start_secondary_cpus sets the entry and sends a
  // reschedule IPI): every interrupt wakes the hlt, its handler runs, and the loop looks again.
  for (;;) {
    auto entry = __atomic_load_n(&g_ap_scheduler_entry, __ATOMIC_ACQUIRE);
    if (entry != nullptr) entry(index);
    sti_hlt();
    cli();
  }
}

namespace exo::arch {

const acpi::MadtInfo& madt_info() { return g_madt; }

Status smp_init() {
  if (!g_initialized) {
    Status result = bring_up();
    g_init_ok = result.ok();
    if (!result.ok()) g_init_error = result.error();
    g_initialized = true;
  }
  if (g_init_ok) return ok_status();
  return g_init_error;
}

uint32_t cpu_count() {
  return __atomic_load_n(&g_online, __ATOMIC_ACQUIRE);
}
uint32_t cpu_count_described() {
  return g_described;
}
uint32_t ioapic_entries_masked() {
  return g_ioapic_entries_masked;
}
uint32_t cpu_node(uint32_t cpu) {
  return percpu::cpu(cpu).node;
}
PerCpu& cpu_block(uint32_t index) {
  return percpu::cpu(index);
}

void set_timer_hook(void (*hook)()) {
  __atomic_store_n(&g_timer_hook, hook, __ATOMIC_RELEASE);
}
void set_reschedule_hook(void (*hook)()) {
  __atomic_store_n(&g_reschedule_hook, hook, __ATOMIC_RELEASE);
}

void start_secondary_cpus(void (*ap_entry)(uint32_t cpu)) {
  __atomic_store_n(&g_ap_scheduler_entry, ap_entry, __ATOMIC_RELEASE);
  for (uint32_t cpu = 1; cpu < kMaxCpus; ++cpu) send_reschedule(cpu);
}

void timer_cancel() { lapic::timer_stop(); }

void send_reschedule(uint32_t cpu) {
  if (cpu >= kMaxCpus || !__atomic_load_n(&percpu::cpu(cpu).online, __ATOMIC_ACQUIRE)) return;
  InterruptsOff guard;  // ICR writes must not interleave on one CPU
  (void)lapic::send_fixed(percpu::cpu(cpu).apic_id, kVectorReschedule);
}

void tlb_shootdown(uptr address) {
  shootdown(&address, 1, false);
}
void tlb_shootdown_pages(const uptr* pages, usize count) {
  if (count != 0) shootdown(pages, count, false);
}
void tlb_shootdown_all() {
  shootdown(nullptr, 0, true);
}

void timer_arm_at(uint64_t deadline) {
  lapic::timer_arm_at(deadline);
}

}  // namespace exo::arch
