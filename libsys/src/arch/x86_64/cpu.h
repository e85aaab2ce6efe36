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

}  // namespace exo::sys::arch
