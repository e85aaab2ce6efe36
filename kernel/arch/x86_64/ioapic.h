// I/O APIC: for now only masking every redirection entry, so no device interrupt reaches a CPU
// before a driver routes it. Intel 82093AA I/O APIC data sheet, 3.2.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch::ioapic {

// Masks every redirection entry of the I/O APIC whose registers are at physical `base` (from
// the MADT's I/O APIC entry; must be below 4 GiB, in the direct map). Returns the number of
// entries masked, 0 if `base` is out of reach. Boot CPU, during smp_init().
uint32_t mask_all(uint64_t base);

// Number of redirection entries of the I/O APIC at `base` (0 if out of reach).
uint32_t entry_count(uint64_t base);

// Programs entry `index` to deliver `vector` to the local APIC `destination` (physical mode,
// fixed delivery), with the given polarity and trigger, masked or not.
void set_entry(uint64_t base, uint32_t index, uint8_t vector, uint8_t destination, bool active_low,
               bool level, bool masked);
void set_masked(uint64_t base, uint32_t index, bool masked);

}  // namespace exo::arch::ioapic
