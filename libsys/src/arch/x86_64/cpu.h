// Single-instruction wrappers ring-3 code may need (tests that provoke faults), one per
// instruction.
#pragma once

#include <stdint.h>

namespace exo::sys::arch {

// Privileged: in ring 3 it raises #GP (Intel SDM vol. 2A, HLT: "#GP(0) if CPL != 0").
inline void hlt() {
  asm volatile("hlt");
}
// Always #UD (Intel SDM vol. 2B, UD).
[[noreturn]] inline void ud2() {
  asm volatile("ud2");
  __builtin_unreachable();
}
// Divides; divisor 0 raises #DE (Intel SDM vol. 2A, DIV).
inline uint64_t div(uint64_t dividend, uint64_t divisor) {
  uint64_t quotient, remainder = 0;
  asm volatile("divq %[d]" : "=a"(quotient), "+d"(remainder) : "a"(dividend), [d] "r"(divisor));
  return quotient;
}
// Reads a byte at an arbitrary (possibly non-canonical or unmapped) address, so the compiler
// can neither fold nor reject the access.
inline uint8_t load_byte(uint64_t address) {
  uint8_t value;
  asm volatile("movb (%1), %0" : "=r"(value) : "r"(address) : "memory");
  return value;
}
inline void store_byte(uint64_t address, uint8_t value) {
  asm volatile("movb %1, (%0)" ::"r"(address), "r"(value) : "memory");
}
// The time-stamp counter and IA32_TSC_AUX, which the kernel sets to the CPU's index (Intel SDM
// vol. 2B, RDTSCP): where the calling thread ran when it read the counter.
inline uint64_t rdtscp(uint32_t& cpu) {
  uint32_t lo, hi;
  asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(cpu));
  return (uint64_t{hi} << 32) | lo;
}
// A spin-wait hint (Intel SDM vol. 2B, PAUSE). Under QEMU's TCG it also ends the vCPU's turn,
// which the benchmarks use to let another vCPU run at once under -icount (docs/benchmarks.md).
inline void pause() {
  asm volatile("pause");
}
// Port I/O for drivers whose process holds the ports (ioport_enable); #GP otherwise.
inline void outb(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" ::"a"(value), "Nd"(port));
}
inline uint8_t inb(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

}  // namespace exo::sys::arch
