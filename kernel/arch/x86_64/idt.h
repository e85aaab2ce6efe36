// The interrupt descriptor table: 32 exception gates now, device vectors as drivers arrive.
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

// Fills and loads the IDT. Call after gdt_init() (gates name the kernel code selector and IST
// slots).
void idt_init();

}  // namespace exo::arch
