// GDT and TSS set-up: the boot CPU's tables here, application processors' in their per-CPU block.
#include "kernel/arch/x86_64/gdt.h"

#include "kernel/arch/x86_64/cpu.h"

namespace exo::arch {
namespace {

// A code/data segment descriptor (Intel SDM vol. 3, 3.4.5). In long mode base and limit are
// ignored for code and data; only type, DPL, present and L matter.
struct SegmentDescriptor {
  bool code;
  uint8_t dpl;
  bool long_mode;

  constexpr uint64_t encode() const {
    uint64_t access = (1u << 7)                       // present
                      | (uint64_t{dpl} << 5) | (1u << 4)  // S: code/data
                      | (code ? 0xau : 0x2u);         // code: execute/read; data: read/write
    uint64_t flags = long_mode ? 0x2u : 0xcu;         // L, or 32-bit with 4K granularity
    return (access << 40) | (flags << 52) | (code ? 0 : (0xfull << 48) | 0xffffu);
  }
};

// A 64-bit TSS descriptor takes two GDT slots (Intel SDM vol. 3, 8.2.3).
struct TssDescriptor {
  uptr base;
  uint32_t limit;
  constexpr uint64_t low() const {
    return (limit & 0xffffu) | ((base & 0xffffffu) << 16) | (uint64_t{0x89} << 40) |
           (uint64_t((limit >> 16) & 0xf) << 48) | (uint64_t((base >> 24) & 0xff) << 56);
  }
  constexpr uint64_t high() const { return base >> 32; }
};

enum GdtSlot : usize { kNull, kKernelCode, kKernelData, kUserCode32, kUserData, kUserCode, kTssLow, kTssHigh, kGdtSlots };
static_assert(kGdtSlots == kGdtEntries);

constinit CpuDescriptorTables g_boot_tables = {};
alignas(16) constinit uint8_t g_ist_stacks[3][kIstStackSize] = {};

}  // namespace

Tss* boot_tss() { return &g_boot_tables.tss; }
uint8_t* boot_io_bitmap() { return g_boot_tables.io_bitmap; }

uptr ist_stack_bottom(uint8_t slot) { return reinterpret_cast<uptr>(&g_ist_stacks[slot - 1][0]); }
uptr ist_stack_top(uint8_t slot) { return ist_stack_bottom(slot) + kIstStackSize; }

void gdt_load(CpuDescriptorTables* tables, const uptr (&ist_tops)[3]) {
  uint64_t* gdt = tables->gdt;
  gdt[kKernelCode] = SegmentDescriptor{true, 0, true}.encode();
  gdt[kKernelData] = SegmentDescriptor{false, 0, false}.encode();
  gdt[kUserCode32] = SegmentDescriptor{true, 3, false}.encode();
  gdt[kUserData] = SegmentDescriptor{false, 3, false}.encode();
  gdt[kUserCode] = SegmentDescriptor{true, 3, true}.encode();

  for (uint8_t slot = 1; slot <= 3; ++slot) tables->tss.ist[slot - 1] = ist_tops[slot - 1];
  // Every port closed to ring 3 until a process's permissions are loaded (user_mode.cc).
  static_assert(__builtin_offsetof(CpuDescriptorTables, io_bitmap) -
                    __builtin_offsetof(CpuDescriptorTables, tss) == sizeof(Tss));
  tables->tss.iomap_base = sizeof(Tss);
  for (uint8_t& byte : tables->io_bitmap) byte = 0xff;
  TssDescriptor tss{reinterpret_cast<uptr>(&tables->tss), sizeof(Tss) + kIoBitmapBytes};
  gdt[kTssLow] = tss.low();
  gdt[kTssHigh] = tss.high();

  DescriptorPointer pointer{sizeof(tables->gdt) - 1, reinterpret_cast<uint64_t>(&gdt[0])};
  lgdt(pointer);
  reload_segments(kKernelCodeSelector, kKernelDataSelector);
  ltr(kTssSelector);
}

void gdt_init() {
  const uptr tops[3] = {ist_stack_top(1), ist_stack_top(2), ist_stack_top(3)};
  gdt_load(&g_boot_tables, tops);
}

}  // namespace exo::arch
