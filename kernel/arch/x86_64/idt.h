// The interrupt descriptor table: 32 exception gates and 224 interrupt gates whose vectors are
// dispatched to handlers registered at run time.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

inline constexpr uint8_t kVectorDivide = 0;
inline constexpr uint8_t kVectorNmi = 2;
inline constexpr uint8_t kVectorBreakpoint = 3;
inline constexpr uint8_t kVectorInvalidOpcode = 6;
inline constexpr uint8_t kVectorDoubleFault = 8;
inline constexpr uint8_t kVectorGeneralProtection = 13;
inline constexpr uint8_t kVectorPageFault = 14;
inline constexpr uint8_t kVectorMachineCheck = 18;

// Interrupt vectors (>= 32). Priority classes are vector / 16, so the IPIs sit near the top
// (Intel SDM vol. 3, 11.8.3.1); 0x20..0x2f is where the masked 8259 PIC is parked, and the
// dispatcher sends no EOI for it, so local APIC / I/O APIC interrupts must not use that range.
inline constexpr uint8_t kVectorFirstInterrupt = 32;
inline constexpr uint8_t kVectorLegacyPicBase = 0x20;
inline constexpr uint8_t kVectorLocalTimer = 0xf0;
inline constexpr uint8_t kVectorReschedule = 0xfc;
inline constexpr uint8_t kVectorTlbShootdown = 0xfd;
inline constexpr uint8_t kVectorApicError = 0xfe;
inline constexpr uint8_t kVectorApicSpurious = 0xff;

struct TrapFrame;
using InterruptHandler = void (*)(TrapFrame& frame);

// Fills and loads the IDT. Call after gdt_init() (gates name the kernel code selector and IST
// slots).
void idt_init();

// Loads the (shared) IDT on the calling CPU; for application processors after idt_init().
void idt_load();

// Installs `handler` for `vector` (>= 32), replacing any previous one; nullptr removes it. The
// handler runs with interrupts off on the interrupted CPU's stack; the dispatcher sends the
// local APIC EOI after it returns (except for the spurious vector). Safe to call at any time:
// the slot is written with one atomic store.
void set_interrupt_handler(uint8_t vector, InterruptHandler handler);

// The handler for `vector`, or nullptr.
InterruptHandler interrupt_handler(uint8_t vector);

// How many interrupts arrived on a vector with no handler (they are acknowledged and dropped).
uint64_t unexpected_interrupt_count();

}  // namespace exo::arch
