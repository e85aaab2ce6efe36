// IDT set-up: one interrupt gate per vector, #DF/NMI/#MC on their own IST stacks, and the
// table of run-time interrupt handlers for vectors >= 32.
#include "kernel/arch/x86_64/idt.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"

extern "C" const uint64_t exo_exception_stubs[32];
extern "C" const uint64_t exo_interrupt_stubs[224];

namespace exo::arch {
namespace {

// A 64-bit interrupt gate (Intel SDM vol. 3, 6.14.1, figure 6-8).
struct [[gnu::packed]] GateDescriptor {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attributes;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;

  static constexpr uint8_t kInterruptGate = 0xe;
  static constexpr uint8_t kPresent = 0x80;

  static constexpr GateDescriptor interrupt_gate(uint64_t handler, uint8_t ist_slot, uint8_t dpl) {
    return GateDescriptor{static_cast<uint16_t>(handler),
                          kKernelCodeSelector,
                          ist_slot,
                          static_cast<uint8_t>(kPresent | (dpl << 5) | kInterruptGate),
                          static_cast<uint16_t>(handler >> 16),
                          static_cast<uint32_t>(handler >> 32),
                          0};
  }
};
static_assert(sizeof(GateDescriptor) == 16);

alignas(16) constinit GateDescriptor g_idt[256] = {};
constinit InterruptHandler g_handlers[256] = {};

uint8_t ist_for_vector(uint8_t vector) {
  switch (vector) {
    case kVectorDoubleFault: return kIstDoubleFault;
    case kVectorNmi: return kIstNmi;
    case kVectorMachineCheck: return kIstMachineCheck;
    default: return 0;
  }
}

}  // namespace

void idt_init() {
  for (uint8_t vector = 0; vector < 32; ++vector) {
    // #BP may be raised from ring 3 with int3; every other exception gate is DPL 0 so user
    // code cannot fake an exception with `int N`.
    uint8_t dpl = vector == kVectorBreakpoint ? 3 : 0;
    g_idt[vector] = GateDescriptor::interrupt_gate(exo_exception_stubs[vector], ist_for_vector(vector), dpl);
  }
  for (unsigned vector = kVectorFirstInterrupt; vector < 256; ++vector) {
    uint64_t stub = exo_interrupt_stubs[vector - kVectorFirstInterrupt];
    g_idt[vector] = GateDescriptor::interrupt_gate(stub, 0, 0);
  }
  idt_load();
}

void idt_load() {
  DescriptorPointer pointer{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(&g_idt[0])};
  lidt(pointer);
}

void set_interrupt_handler(uint8_t vector, InterruptHandler handler) {
  __atomic_store_n(&g_handlers[vector], handler, __ATOMIC_RELEASE);
}

InterruptHandler interrupt_handler(uint8_t vector) {
  return __atomic_load_n(&g_handlers[vector], __ATOMIC_ACQUIRE);
}

}  // namespace exo::arch
