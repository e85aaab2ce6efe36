// I/O APIC access through the direct map (index/data register pair).
#include "kernel/arch/x86_64/ioapic.h"

namespace exo::arch::ioapic {
namespace {

constexpr uptr kDirectMapBase = 0xffff800000000000;
// Register select at +0x00, window at +0x10; version register 0x01 holds the highest
// redirection entry index in bits 23:16; entry n is registers 0x10 + 2n (low) and +1 (high).
constexpr uint32_t kSelect = 0x00 / 4, kWindow = 0x10 / 4;
constexpr uint32_t kVersionRegister = 0x01;
constexpr uint32_t kRedirectionBase = 0x10;
constexpr uint32_t kEntryMasked = 1u << 16;

}  // namespace

uint32_t mask_all(uint64_t base) {
  if (base == 0 || base >= 4 * GiB - 0x20) return 0;
  auto* regs = reinterpret_cast<volatile uint32_t*>(kDirectMapBase + base);
  auto read = [&](uint32_t reg) {
    regs[kSelect] = reg;
    return regs[kWindow];
  };
  auto write = [&](uint32_t reg, uint32_t value) {
    regs[kSelect] = reg;
    regs[kWindow] = value;
  };
  uint32_t entries = ((read(kVersionRegister) >> 16) & 0xff) + 1;
  for (uint32_t i = 0; i < entries; ++i) {
    uint32_t reg = kRedirectionBase + 2 * i;
    write(reg, read(reg) | kEntryMasked);
  }
  return entries;
}

}  // namespace exo::arch::ioapic
