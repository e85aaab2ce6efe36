// ISA interrupt lines through the I/O APIC, for user-space drivers (kernel/arch/arch.h).
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/ioapic.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/arch/x86_64/smp.h"
#include "kernel/arch/x86_64/trap_frame.h"

namespace exo::arch {
namespace {

// Vectors 0x30..0x3f, just above the parked 8259's 0x20..0x2f (idt.h).
constexpr uint8_t kIsaVectorBase = 0x30;
constexpr uint32_t kIsaLines = 16;

struct Route {
  uint64_t ioapic_base;
  uint32_t index;
  bool routed;
};
constinit Route g_routes[kIsaLines] = {};
constinit void (*g_handler)(uint32_t) = nullptr;

void on_isa_interrupt(TrapFrame& frame) {
  auto handler = __atomic_load_n(&g_handler, __ATOMIC_ACQUIRE);
  if (handler != nullptr) handler(static_cast<uint32_t>(frame.vector - kIsaVectorBase));
}

}  // namespace

Status isa_irq_route(uint32_t irq, void (*handler)(uint32_t irq)) {
  if (irq >= kIsaLines) return Error::kInvalidArgument;
  const acpi::MadtInfo& madt = madt_info();
  // ISA defaults (ACPI 6.5, 5.2.12.5): the line is the global interrupt, edge, active high.
  uint32_t gsi = irq;
  bool active_low = false, level = false;
  for (usize i = 0; i < madt.override_count; ++i) {
    const acpi::MadtInterruptOverride& o = madt.overrides[i];
    if (o.source != irq) continue;
    gsi = o.gsi;
    active_low = o.polarity == acpi::Polarity::kActiveLow;
    level = o.trigger == acpi::Trigger::kLevel;
  }
  for (usize i = 0; i < madt.io_apic_count; ++i) {
    const acpi::MadtIoApic& io = madt.io_apics[i];
    uint32_t entries = ioapic::entry_count(io.address);
    if (gsi < io.gsi_base || gsi >= io.gsi_base + entries) continue;
    __atomic_store_n(&g_handler, handler, __ATOMIC_RELEASE);
    auto vector = static_cast<uint8_t>(kIsaVectorBase + irq);
    set_interrupt_handler(vector, &on_isa_interrupt);
    ioapic::set_entry(io.address, gsi - io.gsi_base, vector,
                      static_cast<uint8_t>(percpu::cpu(0).apic_id), active_low, level, true);
    g_routes[irq] = Route{io.address, gsi - io.gsi_base, true};
    return ok_status();
  }
  return Error::kNotFound;
}

void isa_irq_set_masked(uint32_t irq, bool masked) {
  if (irq >= kIsaLines || !g_routes[irq].routed) return;
  ioapic::set_masked(g_routes[irq].ioapic_base, g_routes[irq].index, masked);
}

}  // namespace exo::arch
