// The GDT and TSS: flat kernel and user segments for long mode, IST stacks for #DF, NMI, #MC.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

// Selector layout. User data sits just below user code because sysret derives both from one
// STAR field (Intel SDM vol. 3, 5.8.8): SS = STAR[63:48] + 8, CS = STAR[63:48] + 16.
inline constexpr uint16_t kKernelCodeSelector = 0x08;
inline constexpr uint16_t kKernelDataSelector = 0x10;
inline constexpr uint16_t kUserCode32Selector = 0x18;  // placeholder: no compatibility mode
inline constexpr uint16_t kUserDataSelector = 0x20 | 3;
inline constexpr uint16_t kUserCodeSelector = 0x28 | 3;
inline constexpr uint16_t kTssSelector = 0x30;

// Interrupt stack table slots (1-based, as the IDT gate encodes them).
inline constexpr uint8_t kIstDoubleFault = 1;
inline constexpr uint8_t kIstNmi = 2;
inline constexpr uint8_t kIstMachineCheck = 3;
inline constexpr usize kIstStackSize = 16 * 1024;

// 64-bit TSS (Intel SDM vol. 3, 8.7, figure 8-11).
struct [[gnu::packed]] Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

// GDT entries: null, kernel code/data, user code32/data/code, and the two-slot TSS descriptor.
inline constexpr usize kGdtEntries = 8;

// One CPU's GDT and TSS. Each CPU needs its own: ltr marks the TSS descriptor busy, and the TSS
// holds that CPU's IST stack pointers (Intel SDM vol. 3, 8.2.3, 8.7).
// The TSS's I/O permission bitmap (Intel SDM vol. 1, 19.5.2): one bit per port, 0 = allowed
// in ring 3, followed by a byte of ones; it sits right after the TSS so iomap_base is
// sizeof(Tss).
inline constexpr usize kIoBitmapBytes = 65536 / 8;
struct CpuDescriptorTables {
  alignas(16) uint64_t gdt[kGdtEntries];
  Tss tss;
  uint8_t io_bitmap[kIoBitmapBytes + 1];
};

// Loads the boot CPU's GDT and TSS. Call once, early, with interrupts off.
void gdt_init();

// Fills `tables` (which must outlive its use by this CPU: static storage) with the flat segments
// and a TSS whose IST slots 1..3 hold `ist_tops`, then loads GDT, segments and TR on the calling
// CPU. For application processors; interrupts off.
void gdt_load(CpuDescriptorTables* tables, const uptr (&ist_tops)[3]);

// The boot CPU's TSS (application processors' live in their per-CPU block).
Tss* boot_tss();
uint8_t* boot_io_bitmap();

// Bounds of an IST stack, for the tests that check a handler ran on it. `slot` is 1-based.
uptr ist_stack_bottom(uint8_t slot);
uptr ist_stack_top(uint8_t slot);

}  // namespace exo::arch
