// The local APIC (xAPIC, memory-mapped): enable, EOI, inter-processor interrupts, and the
// per-CPU timer in TSC-deadline or counted mode. Intel SDM vol. 3, chapter 11.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::arch::lapic {

// Register offsets from the APIC base (Intel SDM vol. 3, table 11-1).
enum class Reg : uint32_t {
  kId = 0x20,
  kVersion = 0x30,
  kTaskPriority = 0x80,
  kEoi = 0xb0,
  kSpurious = 0xf0,
  kErrorStatus = 0x280,
  kIcrLow = 0x300,
  kIcrHigh = 0x310,
  kLvtTimer = 0x320,
  kLvtLint0 = 0x350,
  kLvtLint1 = 0x360,
  kLvtError = 0x370,
  kTimerInitialCount = 0x380,
  kTimerCurrentCount = 0x390,
  kTimerDivide = 0x3e0,
};

// The interrupt command register (Intel SDM vol. 3, 11.6.1, figure 11-12).
struct Icr {
  enum class Delivery : uint8_t { kFixed = 0, kInit = 5, kStartup = 6 };
  enum class Shorthand : uint8_t { kNone = 0, kSelf = 1, kAll = 2, kAllButSelf = 3 };

  uint8_t vector = 0;
  Delivery delivery = Delivery::kFixed;
  bool level_assert = true;      // INIT de-assert is the only message with this clear
  bool level_triggered = false;  // only the INIT de-assert is level-triggered
  Shorthand shorthand = Shorthand::kNone;
  uint8_t destination = 0;  // physical APIC id; ignored with a shorthand

  static constexpr uint32_t kDeliveryPending = 1u << 12;

  constexpr uint32_t low() const {
    return uint32_t{vector} | (uint32_t(delivery) << 8) | (uint32_t{level_assert} << 14) |
           (uint32_t{level_triggered} << 15) | (uint32_t(shorthand) << 18);
  }
  constexpr uint32_t high() const { return uint32_t{destination} << 24; }
};
// STARTUP as in Intel SDM vol. 3, 9.4.4.1's example (0xc4608 there, to all excluding self);
// INIT level-triggered with assert, to be followed by the de-assert (11.6.1).
static_assert(Icr{.vector = 0x08, .delivery = Icr::Delivery::kStartup}.low() == 0x4608);
static_assert(Icr{.delivery = Icr::Delivery::kInit, .level_triggered = true}.low() == 0xc500);
static_assert(Icr{.vector = 0xfd, .shorthand = Icr::Shorthand::kAllButSelf}.low() == 0xc40fd);
static_assert(Icr{.destination = 3}.high() == 0x03000000);

// A local vector table entry (Intel SDM vol. 3, 11.5.1, figure 11-8).
struct Lvt {
  enum class TimerMode : uint8_t { kOneShot = 0, kPeriodic = 1, kTscDeadline = 2 };
  uint8_t vector = 0;
  bool masked = false;
  TimerMode timer_mode = TimerMode::kOneShot;

  static constexpr uint32_t kMasked = 1u << 16;
  constexpr uint32_t encode() const {
    return uint32_t{vector} | (masked ? kMasked : 0) | (uint32_t(timer_mode) << 17);
  }
};
static_assert(Lvt{.vector = 0xf0, .timer_mode = Lvt::TimerMode::kTscDeadline}.encode() == 0x400f0);
static_assert(Lvt{.vector = 0xf0, .masked = true}.encode() == 0x100f0);

// Enables the calling CPU's local APIC: spurious vector kVectorApicSpurious with the software
// enable bit, task priority 0 (accept everything), error LVT on kVectorApicError, timer masked.
// The first call (boot CPU) records the APIC base and fails with kUnsupported when the CPU has
// no APIC or firmware left it in x2APIC mode (not supported yet, docs/smp.md). Interrupts off.
Status init();

// Whether init() has succeeded on the boot CPU.
bool initialized();

// The calling CPU's APIC id. Precondition: init() succeeded on the boot CPU.
uint32_t id();

// Signals end of interrupt for the in-service interrupt. Interrupt context.
void eoi();

// Sends an IPI and waits until the local APIC reports it delivered (ICR delivery status clear;
// Intel SDM vol. 3, 11.6.1). Returns kTimedOut if that takes longer than ~100 ms. Callers
// serialise: the ICR is per CPU, so interrupts must be off or the caller owns this CPU's ICR.
Status send(const Icr& icr);
Status send_fixed(uint32_t apic_id, uint8_t vector);
Status send_fixed_all_but_self(uint8_t vector);
Status send_init(uint32_t apic_id);
Status send_init_deassert(uint32_t apic_id);
Status send_startup(uint32_t apic_id, uint8_t page);

// ---- The timer --------------------------------------------------------------------------------

enum class TimerMode : uint8_t {
  kTscDeadline,  // IA32_TSC_DEADLINE (CPUID.1:ECX[24]); deadlines in TSC ticks, no conversion
  kCounted,      // the 32-bit count-down timer, calibrated against the TSC
};

// Measures the counted timer's frequency against the TSC (calibrating the TSC against the PIT
// first if needed) and picks TSC-deadline mode when the CPU has it. Boot CPU, once, after
// init(); later calls return the first result.
Status timer_init();

TimerMode timer_mode();
// Selects the mode for subsequent arming on every CPU; kUnsupported for kTscDeadline on a CPU
// without it. Meant for tests that exercise both paths.
Status timer_set_mode(TimerMode mode);
// Counted-timer ticks per second (after the divide-by-16).
uint64_t timer_hz();

// Arms the calling CPU's timer to raise kVectorLocalTimer once, at or shortly after TSC value
// `tsc_deadline` (immediately if it has passed). In counted mode the delay is converted and
// clamped to the 32-bit counter's range, so a far deadline may fire early: the handler must
// check the time. Replaces any earlier arming. Interrupts off or interrupt context.
void timer_arm_at(uint64_t tsc_deadline);
// Makes the calling CPU's timer fire `hz` times a second until timer_stop(). Uses the counted
// timer's periodic mode in either timer mode.
void timer_set_periodic(uint32_t hz);
void timer_stop();

}  // namespace exo::arch::lapic

namespace exo::arch {
// Remaps the 8259 PICs to vectors kVectorLegacyPicBase.. and masks every line, so the legacy
// timer cannot land on an exception vector once interrupts are on. Boot CPU, once.
void legacy_pic_disable();
}  // namespace exo::arch
