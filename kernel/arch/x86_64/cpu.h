// One small wrapper per x86_64 instruction the kernel uses; the only inline asm in the kernel.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t value) { asm volatile("outw %0, %1" ::"a"(value), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" ::"a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
inline uint32_t inl(uint16_t port) {
  uint32_t value;
  asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32)));
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline uint64_t read_cr0() {
  uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
inline void write_cr0(uint64_t v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
inline uint64_t read_cr2() {
  uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
inline uint64_t read_cr3() {
  uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline uint64_t read_cr4() {
  uint64_t v;
  asm volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

inline void invlpg(uptr address) { asm volatile("invlpg (%0)" ::"r"(address) : "memory"); }

inline void hlt() { asm volatile("hlt"); }
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void pause() { asm volatile("pause"); }
inline void ud2() { asm volatile("ud2"); }
inline void mfence() { asm volatile("mfence" ::: "memory"); }
// sti immediately followed by hlt: the one-instruction interrupt shadow of sti (Intel SDM
// vol. 2B, STI) guarantees an interrupt arriving in between still wakes the hlt.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }

// A 64-bit load from the GS segment (its base is the per-CPU block; kernel/arch/x86_64/percpu.h).
inline uint64_t read_gs_u64(uptr offset) {
  uint64_t v;
  asm volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"(offset));
  return v;
}
// A 32-bit load from the GS segment at a constant offset: one instruction, no register for the
// offset (the form hot per-CPU paths use).
template <uptr kOffset>
inline uint32_t read_gs_u32() {
  uint64_t v;
  asm volatile("movl %%gs:%c1, %k0" : "=r"(v) : "i"(kOffset));
  // A 32-bit load clears the upper half (SDM vol. 1, 3.4.1.1): widening the result costs nothing.
  __builtin_assume(v <= 0xffffffffu);
  return static_cast<uint32_t>(v);
}

struct [[gnu::packed]] DescriptorPointer {
  uint16_t limit;
  uint64_t base;
};
inline void lgdt(const DescriptorPointer& p) { asm volatile("lgdt %0" ::"m"(p) : "memory"); }
inline void lidt(const DescriptorPointer& p) { asm volatile("lidt %0" ::"m"(p) : "memory"); }
inline void ltr(uint16_t selector) { asm volatile("ltr %0" ::"r"(selector) : "memory"); }

// Reloads CS with a far return and the data segment registers; needed after lgdt.
void reload_segments(uint16_t code_selector, uint16_t data_selector);

inline uint64_t read_rflags() {
  uint64_t v;
  asm volatile("pushfq; popq %0" : "=r"(v));
  return v;
}

// CPUID feature bits the kernel checks (Intel SDM vol. 2A, CPUID, tables 3-10/3-11).
namespace cpuid_bits {
inline constexpr uint32_t kLeaf1EcxPcid = 1u << 17;
inline constexpr uint32_t kLeaf1EcxX2apic = 1u << 21;
inline constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
inline constexpr uint32_t kLeaf1EcxXsave = 1u << 26;
inline constexpr uint32_t kLeaf7EbxSmep = 1u << 7;
inline constexpr uint32_t kLeaf7EbxInvpcid = 1u << 10;
inline constexpr uint32_t kLeaf7EbxSmap = 1u << 20;
inline constexpr uint32_t kLeaf80000001EdxRdtscp = 1u << 27;
}  // namespace cpuid_bits

// Control-register bits the kernel sets (Intel SDM vol. 3, 2.5) and EFER bits (vol. 4, 2-2).
namespace control_bits {
inline constexpr uint64_t kCr0Mp = 1ull << 1;
inline constexpr uint64_t kCr0Em = 1ull << 2;
inline constexpr uint64_t kCr0Ts = 1ull << 3;
inline constexpr uint64_t kCr0Ne = 1ull << 5;
inline constexpr uint64_t kCr4Pge = 1ull << 7;
inline constexpr uint64_t kCr4Osfxsr = 1ull << 9;
inline constexpr uint64_t kCr4Osxmmexcpt = 1ull << 10;
inline constexpr uint64_t kCr4Pcide = 1ull << 17;
inline constexpr uint64_t kCr4Osxsave = 1ull << 18;
inline constexpr uint64_t kCr4Smep = 1ull << 20;
inline constexpr uint64_t kCr4Smap = 1ull << 21;
inline constexpr uint64_t kEferSce = 1ull << 0;
}  // namespace control_bits

// MSR numbers (Intel SDM vol. 4, table 2-2).
namespace msr {
inline constexpr uint32_t kApicBase = 0x1b;
inline constexpr uint32_t kTscDeadline = 0x6e0;
inline constexpr uint32_t kEfer = 0xc0000080;
inline constexpr uint32_t kStar = 0xc0000081;
inline constexpr uint32_t kLstar = 0xc0000082;
inline constexpr uint32_t kFmask = 0xc0000084;
inline constexpr uint32_t kFsBase = 0xc0000100;
inline constexpr uint32_t kGsBase = 0xc0000101;
inline constexpr uint32_t kKernelGsBase = 0xc0000102;
inline constexpr uint32_t kTscAux = 0xc0000103;
}  // namespace msr

}  // namespace exo::arch
