// ktest=smp: every CPU the MADT lists comes online with its APIC id and NUMA node, answers a
// fixed IPI and a reschedule IPI, acknowledges TLB shootdowns (and really drops a stale
// translation), and takes local timer interrupts in each timer mode.
#include "kernel/arch/x86_64/smp.h"
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/interrupts.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/test/ktest.h"

namespace exo {
namespace {

using arch::PerCpu;

constexpr uint8_t kTestVector = 0x40;
constexpr uptr kKernelVma = 0xffffffff80000000;
constexpr uptr kDirectMapBase = 0xffff800000000000;

// A test action the fixed-IPI handler runs on the receiving CPU before counting the IPI.
constinit void (*g_action)() = nullptr;

void on_test_ipi(arch::TrapFrame&) {
  auto action = __atomic_load_n(&g_action, __ATOMIC_ACQUIRE);
  if (action != nullptr) action();
  __atomic_fetch_add(&arch::percpu::current().test_ipis, 1, __ATOMIC_RELEASE);
}

uint64_t load(const uint64_t& counter) {
  return __atomic_load_n(&counter, __ATOMIC_ACQUIRE);
}

// Waits (up to two seconds) for `counter` to exceed `before`, with this CPU's interrupts on
// while it waits when `interruptible`. The caller's interrupt state is restored: ktests run on
// the kernel_main thread, which the scheduler runs with interrupts on, and leaving them off
// would leave this CPU deaf to TLB shootdowns and reschedule IPIs for the rest of the run.
bool wait_past(const uint64_t& counter, uint64_t before, bool interruptible = false) {
  uint64_t limit = 2 * arch::cycle_counter_hz();
  uint64_t start = arch::rdtsc();
  bool was_enabled = arch::interrupts_enabled();
  if (interruptible) arch::sti();
  bool moved = true;
  while (load(counter) <= before) {
    if (arch::rdtsc() - start > limit) {
      moved = false;
      break;
    }
    arch::pause();
  }
  if (interruptible && !was_enabled) arch::cli();
  return moved;
}

void set_up() {
  (void)arch::smp_init();
  arch::set_interrupt_handler(kTestVector, &on_test_ipi);
}

// Runs `action` on application processor `index` through the test IPI and waits for it.
bool run_on(uint32_t index, void (*action)()) {
  PerCpu& cpu = arch::cpu_block(index);
  __atomic_store_n(&g_action, action, __ATOMIC_RELEASE);
  uint64_t before = load(cpu.test_ipis);
  bool sent = arch::lapic::send_fixed(cpu.apic_id, kTestVector).ok();
  bool done = sent && wait_past(cpu.test_ipis, before);
  __atomic_store_n(&g_action, nullptr, __ATOMIC_RELEASE);
  return done;
}

EXO_KTEST(smp, every_described_cpu_comes_online) {
  Status status = arch::smp_init();
  KEXPECT(status.ok());
  KEXPECT(arch::smp_init().ok());  // idempotent
  uint32_t count = arch::cpu_count();
  uint32_t expected = arch::cpu_count_described();
  if (expected > arch::kMaxCpus) expected = arch::kMaxCpus;
  KEXPECT_EQ(count, expected);
  KEXPECT_EQ(arch::current_cpu(), 0u);
  KEXPECT(&arch::percpu::current() == &arch::cpu_block(0));
  KEXPECT_EQ(arch::cpu_block(0).apic_id, arch::lapic::id());
  for (uint32_t i = 0; i < count; ++i) {
    PerCpu& cpu = arch::cpu_block(i);
    KEXPECT(cpu.self == &cpu);
    KEXPECT(__atomic_load_n(&cpu.online, __ATOMIC_ACQUIRE));
    KEXPECT_EQ(cpu.index, i);
    kprint("cpu {} apic {} node {} online\n", i, cpu.apic_id, cpu.node);
  }
  kprint("smp: {} of {} described CPUs online; timer {} at {} kHz, TSC {} kHz\n", count,
         arch::cpu_count_described(),
         arch::lapic::timer_mode() == arch::lapic::TimerMode::kTscDeadline ? "TSC-deadline"
                                                                           : "counted",
         arch::lapic::timer_hz() / 1000, arch::cycle_counter_hz() / 1000);
}

// Each AP reads its own per-CPU block through GS.
constinit uint32_t g_seen_index[arch::kMaxCpus] = {};
void record_own_index() {
  uint32_t index = arch::current_cpu();
  g_seen_index[index] = index | 0x100;
}

EXO_KTEST(smp, each_ap_answers_a_fixed_ipi) {
  set_up();
  for (uint32_t i = 1; i < arch::cpu_count(); ++i) {
    PerCpu& cpu = arch::cpu_block(i);
    uint64_t before = load(cpu.test_ipis);
    KEXPECT(run_on(i, &record_own_index));
    KEXPECT_EQ(load(cpu.test_ipis), before + 1);
    KEXPECT_EQ(g_seen_index[i], i | 0x100);
  }
}

EXO_KTEST(smp, reschedule_ipi_is_counted) {
  set_up();
  for (uint32_t i = 1; i < arch::cpu_count(); ++i) {
    PerCpu& cpu = arch::cpu_block(i);
    uint64_t before = load(cpu.reschedule_ipis);
    arch::send_reschedule(i);
    KEXPECT(wait_past(cpu.reschedule_ipis, before));
  }
}

EXO_KTEST(smp, tlb_shootdown_acknowledged_by_all) {
  set_up();
  uint64_t before[arch::kMaxCpus] = {};
  for (uint32_t i = 0; i < arch::cpu_count(); ++i)
    before[i] = load(arch::cpu_block(i).tlb_shootdowns);
  arch::tlb_shootdown(kDirectMapBase);
  arch::tlb_shootdown_all();
  // tlb_shootdown returns only after every acknowledgement, so no waiting here.
  for (uint32_t i = 1; i < arch::cpu_count(); ++i) {
    KEXPECT_EQ(load(arch::cpu_block(i).tlb_shootdowns), before[i] + 2);
  }
  KEXPECT_EQ(load(arch::cpu_block(0).tlb_shootdowns), before[0]);  // the sender flushes inline
}

// A private mapping in an unused PML4 slot (found at run time: the memory code owns the
// layout), pointed first at page A then at page B.
alignas(4096) constinit uint64_t g_pdpt[512] = {};
alignas(4096) constinit uint64_t g_pd[512] = {};
alignas(4096) constinit uint64_t g_pt[512] = {};
alignas(4096) constinit uint64_t g_page_a[512] = {};
alignas(4096) constinit uint64_t g_page_b[512] = {};
constinit uptr g_test_address = 0;
constexpr uint64_t kPresent = 1, kWritable = 2, kNoExecute = uint64_t{1} << 63;
constinit uint64_t g_read_value[arch::kMaxCpus] = {};

uptr physical(const void* p) {
  return reinterpret_cast<uptr>(p) - kKernelVma;
}
uint64_t* kernel_pml4() {
  return reinterpret_cast<uint64_t*>(kDirectMapBase + (arch::read_cr3() & ~uint64_t{0xfff}));
}
void read_test_address() {
  g_read_value[arch::current_cpu()] = *reinterpret_cast<volatile uint64_t*>(g_test_address);
}

EXO_KTEST(smp, tlb_shootdown_drops_stale_translations) {
  set_up();
  uint64_t* pml4 = kernel_pml4();
  // The memory code pre-populates the kernel half, so the test borrows an empty lower-half
  // slot of the current address space (every CPU runs on it; the pages are supervisor-only).
  usize slot = 255;
  while (slot > 0 && pml4[slot] != 0) --slot;
  KEXPECT(slot > 0);
  if (slot == 0) return;
  g_test_address = uptr{slot} << 39;
  g_page_a[0] = 0xaaaa;
  g_page_b[0] = 0xbbbb;
  g_pt[0] = physical(g_page_a) | kPresent | kWritable | kNoExecute;
  g_pd[0] = physical(g_pt) | kPresent | kWritable;
  g_pdpt[0] = physical(g_pd) | kPresent | kWritable;
  pml4[slot] = physical(g_pdpt) | kPresent | kWritable;
  uint32_t count = arch::cpu_count();
  // Every CPU caches the A translation...
  read_test_address();
  for (uint32_t i = 1; i < count; ++i) KEXPECT(run_on(i, &read_test_address));
  for (uint32_t i = 0; i < count; ++i) KEXPECT_EQ(g_read_value[i], 0xaaaau);
  // ...the entry moves to B, and only the shootdown makes every CPU see it.
  __atomic_store_n(&g_pt[0], physical(g_page_b) | kPresent | kWritable | kNoExecute,
                   __ATOMIC_RELEASE);
  arch::tlb_shootdown(g_test_address);
  read_test_address();
  for (uint32_t i = 1; i < count; ++i) KEXPECT(run_on(i, &read_test_address));
  for (uint32_t i = 0; i < count; ++i) KEXPECT_EQ(g_read_value[i], 0xbbbbu);
  pml4[slot] = 0;
  arch::tlb_shootdown_all();
}

constexpr uint64_t kTimerDelayUs = 1000;
void arm_timer_soon() {
  arch::timer_arm_at(arch::cycle_counter() + arch::cycle_counter_hz() / 1000000 * kTimerDelayUs);
}
void start_periodic() {
  arch::lapic::timer_set_periodic(1000);
}
void stop_timer() {
  arch::lapic::timer_stop();
}
// The scheduler owns each CPU's one-shot timer and remembers what it armed. A test that stops
// the timer behind its back hands it back with one near tick: the scheduler's timer hook then
// re-arms from scratch.
void hand_timer_back() { arm_timer_soon(); }

// One-shot on every CPU in the current mode: the BSP waits with interrupts on, each AP is armed
// through the test IPI and takes the tick in its idle loop.
void check_one_shot_everywhere(ktest::Context& ktest_context) {
  PerCpu& boot = arch::cpu_block(0);
  uint64_t before = load(boot.timer_ticks);
  arm_timer_soon();
  KEXPECT(wait_past(boot.timer_ticks, before, true));
  for (uint32_t i = 1; i < arch::cpu_count(); ++i) {
    PerCpu& cpu = arch::cpu_block(i);
    uint64_t ticks = load(cpu.timer_ticks);
    KEXPECT(run_on(i, &arm_timer_soon));
    KEXPECT(wait_past(cpu.timer_ticks, ticks));
  }
}

EXO_KTEST(smp, local_timer_one_shot_fires_on_every_cpu) {
  set_up();
  KEXPECT(arch::lapic::timer_hz() != 0);
  arch::lapic::TimerMode original = arch::lapic::timer_mode();
  if (arch::lapic::timer_set_mode(arch::lapic::TimerMode::kTscDeadline).ok()) {
    kprint("    TSC-deadline mode\n");
    check_one_shot_everywhere(ktest_context);
  }
  KEXPECT(arch::lapic::timer_set_mode(arch::lapic::TimerMode::kCounted).ok());
  kprint("    counted mode\n");
  check_one_shot_everywhere(ktest_context);
  KEXPECT(arch::lapic::timer_set_mode(original).ok());
}

EXO_KTEST(smp, local_timer_periodic_fires_on_every_cpu) {
  set_up();
  constexpr uint64_t kTicks = 3;
  for (uint32_t i = 0; i < arch::cpu_count(); ++i) {
    PerCpu& cpu = arch::cpu_block(i);
    uint64_t before = load(cpu.timer_ticks);
    if (i == 0) {
      start_periodic();
    } else {
      KEXPECT(run_on(i, &start_periodic));
    }
    KEXPECT(wait_past(cpu.timer_ticks, before + kTicks - 1, i == 0));
    if (i == 0) {
      stop_timer();
      hand_timer_back();
    } else {
      KEXPECT(run_on(i, &stop_timer));
      KEXPECT(run_on(i, &hand_timer_back));
    }
  }
}

EXO_KTEST(smp, ioapic_entries_masked) {
  set_up();
  // QEMU's q35 has one I/O APIC with 24 entries; real machines have at least one.
  KEXPECT(arch::ioapic_entries_masked() >= 24);
}

EXO_KTEST(smp, no_unexpected_interrupts) {
  set_up();
  KEXPECT_EQ(arch::unexpected_interrupt_count(), 0u);
}

}  // namespace
}  // namespace exo
