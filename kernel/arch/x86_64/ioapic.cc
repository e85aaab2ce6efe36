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

// The register pair of the I/O APIC at `base`, or null when out of reach.
struct Registers {
  volatile uint32_t* regs;
  uint32_t read(uint32_t reg) const {
    regs[kSelect] = reg;
    return regs[kWindow];
  }
  void write(uint32_t reg, uint32_t value) const {
    regs[kSelect] = reg;
    regs[kWindow] = value;
  }
};
bool reachable(uint64_t base) { return base != 0 && base < 4 * GiB - 0x20; }
Registers at(uint64_t base) { return Registers{reinterpret_cast<volatile uint32_t*>(kDirectMapBase + base)}; }

// Redirection entry fields (82093AA data sheet, 3.2.4).
constexpr uint32_t kActiveLow = 1u << 13;
constexpr uint32_t kLevel = 1u << 15;

}  // namespace

uint32_t entry_count(uint64_t base) {
  if (!reachable(base)) return 0;
  return ((at(base).read(kVersionRegister) >> 16) & 0xff) + 1;
}

void set_entry(uint64_t base, uint32_t index, uint8_t vector, uint8_t destination, bool active_low,
               bool level, bool masked) {
  if (!reachable(base)) return;
  Registers r = at(base);
  uint32_t reg = kRedirectionBase + 2 * index;
  r.write(reg, kEntryMasked);  // masked while the halves change
  r.write(reg + 1, uint32_t{destination} << 24);
  r.write(reg, vector | (active_low ? kActiveLow : 0) | (level ? kLevel : 0) | (masked ? kEntryMasked : 0));
}

void set_masked(uint64_t base, uint32_t index, bool masked) {
  if (!reachable(base)) return;
  Registers r = at(base);
  uint32_t reg = kRedirectionBase + 2 * index;
  uint32_t low = r.read(reg);
  r.write(reg, masked ? (low | kEntryMasked) : (low & ~kEntryMasked));
}

uint32_t mask_all(uint64_t base) {
  if (!reachable(base)) return 0;
  Registers r = at(base);
  auto read = [&](uint32_t reg) { return r.read(reg); };
  auto write = [&](uint32_t reg, uint32_t value) { r.write(reg, value); };
  uint32_t entries = ((read(kVersionRegister) >> 16) & 0xff) + 1;
  for (uint32_t i = 0; i < entries; ++i) {
    uint32_t reg = kRedirectionBase + 2 * i;
    write(reg, read(reg) | kEntryMasked);
  }
  return entries;
}

}  // namespace exo::arch::ioapic
