// Local APIC driver (xAPIC through the direct map) and the legacy PIC shut-off.
#include "kernel/arch/x86_64/apic.h"

#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"

namespace exo::arch::lapic {
namespace {

// The APIC registers are reached through the direct map. It must map them uncached (Intel
// SDM vol. 3, 11.4.1): the memory code's direct map does for everything that is not RAM; the
// boot one (write-back) only works under QEMU, which ignores memory types (docs/smp.md).
constexpr uptr kDirectMapBase = 0xffff800000000000;

// IA32_APIC_BASE (Intel SDM vol. 3, 11.4.4, figure 11-5).
constexpr uint64_t kApicBaseEnable = 1u << 11;
constexpr uint64_t kApicBaseX2apic = 1u << 10;
constexpr uint64_t kApicBaseAddressMask = 0x000ffffffffff000;

constexpr uint32_t kSpuriousEnable = 1u << 8;
// Divide configuration value for divide-by-16 (Intel SDM vol. 3, 11.5.4, figure 11-10).
constexpr uint32_t kDivideBy16 = 0x3;

constinit volatile uint32_t* g_base = nullptr;
constinit uint64_t g_timer_hz = 0;
constinit bool g_has_tsc_deadline = false;
constinit TimerMode g_timer_mode = TimerMode::kCounted;

uint32_t read(Reg reg) {
  return g_base[static_cast<uint32_t>(reg) / 4];
}
void write(Reg reg, uint32_t value) {
  g_base[static_cast<uint32_t>(reg) / 4] = value;
}

uint64_t tsc_hz() {
  if (cycle_counter_hz() == 0) calibrate_cycle_counter();
  return cycle_counter_hz();
}

}  // namespace

Status init() {
  if (g_base == nullptr) {
    if ((cpuid(1).edx & (1u << 9)) == 0) return Error::kUnsupported;  // CPUID.1:EDX.APIC
    uint64_t base = rdmsr(msr::kApicBase);
    if ((base & kApicBaseX2apic) != 0) return Error::kUnsupported;
    uptr physical = base & kApicBaseAddressMask;
    if (physical >= 4 * GiB) return Error::kUnsupported;  // outside the direct map
    g_base = reinterpret_cast<volatile uint32_t*>(kDirectMapBase + physical);
  }
  uint64_t base = rdmsr(msr::kApicBase);
  if ((base & kApicBaseEnable) == 0) wrmsr(msr::kApicBase, base | kApicBaseEnable);

  write(Reg::kTaskPriority, 0);
  write(Reg::kLvtTimer, Lvt{.vector = kVectorLocalTimer, .masked = true}.encode());
  write(Reg::kLvtError, Lvt{.vector = kVectorApicError}.encode());
  // The error status register latches on a write (Intel SDM vol. 3, 11.5.3): write then read.
  write(Reg::kErrorStatus, 0);
  (void)read(Reg::kErrorStatus);
  write(Reg::kSpurious, kSpuriousEnable | kVectorApicSpurious);
  return ok_status();
}

bool initialized() {
  return g_base != nullptr;
}

uint32_t id() {
  return read(Reg::kId) >> 24;
}

void eoi() {
  write(Reg::kEoi, 0);
}

Status send(const Icr& icr) {
  // Writing the low half sends (Intel SDM vol. 3, 11.6.1), so the destination goes first.
  write(Reg::kIcrHigh, icr.high());
  write(Reg::kIcrLow, icr.low());
  uint64_t hz = cycle_counter_hz();
  uint64_t limit = hz != 0 ? hz / 10 : uint64_t{1} << 32;
  uint64_t start = rdtsc();
  while ((read(Reg::kIcrLow) & Icr::kDeliveryPending) != 0) {
    if (rdtsc() - start > limit) return Error::kTimedOut;
    pause();
  }
  return ok_status();
}

Status send_fixed(uint32_t apic_id, uint8_t vector) {
  return send(Icr{.vector = vector, .destination = static_cast<uint8_t>(apic_id)});
}

Status send_fixed_all_but_self(uint8_t vector) {
  return send(Icr{.vector = vector, .shorthand = Icr::Shorthand::kAllButSelf});
}

Status send_init(uint32_t apic_id) {
  return send(Icr{.delivery = Icr::Delivery::kInit,
                  .level_triggered = true,
                  .destination = static_cast<uint8_t>(apic_id)});
}

Status send_init_deassert(uint32_t apic_id) {
  // Only the 82489DX needed it and modern CPUs ignore it (Intel SDM vol. 3, 11.6.1, "INIT
  // Level De-assert"), but firmware written for either kind expects the pair.
  return send(Icr{.delivery = Icr::Delivery::kInit,
                  .level_assert = false,
                  .level_triggered = true,
                  .destination = static_cast<uint8_t>(apic_id)});
}

Status send_startup(uint32_t apic_id, uint8_t page) {
  return send(Icr{.vector = page,
                  .delivery = Icr::Delivery::kStartup,
                  .destination = static_cast<uint8_t>(apic_id)});
}

Status timer_init() {
  if (g_timer_hz != 0) return ok_status();
  if (g_base == nullptr) return Error::kInvalidArgument;
  g_has_tsc_deadline = (cpuid(1).ecx & cpuid_bits::kLeaf1EcxTscDeadline) != 0;
  g_timer_mode = g_has_tsc_deadline ? TimerMode::kTscDeadline : TimerMode::kCounted;

  // Count down from the top, masked, for 10 ms of TSC time.
  uint64_t window = tsc_hz() / 100;
  if (window == 0) return Error::kUnsupported;
  write(Reg::kTimerDivide, kDivideBy16);
  write(Reg::kLvtTimer, Lvt{.vector = kVectorLocalTimer, .masked = true}.encode());
  uint64_t start = rdtsc();
  write(Reg::kTimerInitialCount, 0xffffffff);
  while (rdtsc() - start < window) pause();
  uint32_t remaining = read(Reg::kTimerCurrentCount);
  uint64_t elapsed = rdtsc() - start;
  write(Reg::kTimerInitialCount, 0);
  uint64_t ticks = 0xffffffffu - remaining;
  if (ticks == 0) return Error::kUnsupported;
  g_timer_hz = ticks * tsc_hz() / elapsed;
  return ok_status();
}

TimerMode timer_mode() {
  return g_timer_mode;
}

Status timer_set_mode(TimerMode mode) {
  if (mode == TimerMode::kTscDeadline && !g_has_tsc_deadline) return Error::kUnsupported;
  g_timer_mode = mode;
  return ok_status();
}

uint64_t timer_hz() {
  return g_timer_hz;
}

void timer_arm_at(uint64_t tsc_deadline) {
  if (g_timer_mode == TimerMode::kTscDeadline) {
    write(Reg::kLvtTimer,
          Lvt{.vector = kVectorLocalTimer, .timer_mode = Lvt::TimerMode::kTscDeadline}.encode());
    // The LVT write must be ordered before the MSR write, which is not serialising for xAPIC
    // MMIO (Intel SDM vol. 3, 11.5.4.1).
    mfence();
    // A zero deadline disarms; a deadline already past fires at once (Intel SDM vol. 3, 11.5.4.1).
    wrmsr(msr::kTscDeadline, tsc_deadline == 0 ? 1 : tsc_deadline);
    return;
  }
  uint64_t now = rdtsc();
  uint64_t delta = tsc_deadline > now ? tsc_deadline - now : 0;
  uint64_t hz = tsc_hz();
  // delta * timer_hz / hz without overflowing for deltas of many seconds.
  uint64_t count = (delta / hz) * g_timer_hz + (delta % hz) * g_timer_hz / hz;
  if (count == 0) count = 1;  // an initial count of 0 stops the timer
  if (count > 0xffffffffu) count = 0xffffffffu;
  write(Reg::kTimerDivide, kDivideBy16);
  write(Reg::kLvtTimer,
        Lvt{.vector = kVectorLocalTimer, .timer_mode = Lvt::TimerMode::kOneShot}.encode());
  write(Reg::kTimerInitialCount, static_cast<uint32_t>(count));
}

void timer_set_periodic(uint32_t hz) {
  uint64_t count = hz == 0 ? 0 : g_timer_hz / hz;
  if (count == 0) count = 1;
  if (count > 0xffffffffu) count = 0xffffffffu;
  if (g_has_tsc_deadline) wrmsr(msr::kTscDeadline, 0);
  write(Reg::kTimerDivide, kDivideBy16);
  write(Reg::kLvtTimer,
        Lvt{.vector = kVectorLocalTimer, .timer_mode = Lvt::TimerMode::kPeriodic}.encode());
  write(Reg::kTimerInitialCount, static_cast<uint32_t>(count));
}

void timer_stop() {
  write(Reg::kLvtTimer, Lvt{.vector = kVectorLocalTimer, .masked = true}.encode());
  write(Reg::kTimerInitialCount, 0);
  if (g_has_tsc_deadline) wrmsr(msr::kTscDeadline, 0);
}

}  // namespace exo::arch::lapic

namespace exo::arch {

void legacy_pic_disable() {
  // ICW1..ICW4 (Intel 8259A data sheet): cascade, edge-triggered, 8086 mode; master at
  // kVectorLegacyPicBase, slave 8 above, slave on master line 2. Then mask all 16 lines.
  constexpr uint16_t kMasterCommand = 0x20, kMasterData = 0x21;
  constexpr uint16_t kSlaveCommand = 0xa0, kSlaveData = 0xa1;
  outb(kMasterCommand, 0x11);
  outb(kSlaveCommand, 0x11);
  outb(kMasterData, kVectorLegacyPicBase);
  outb(kSlaveData, kVectorLegacyPicBase + 8);
  outb(kMasterData, 0x04);
  outb(kSlaveData, 0x02);
  outb(kMasterData, 0x01);
  outb(kSlaveData, 0x01);
  outb(kMasterData, 0xff);
  outb(kSlaveData, 0xff);
}

}  // namespace exo::arch
