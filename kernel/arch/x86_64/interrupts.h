// Saving, disabling and restoring the local interrupt flag (RFLAGS.IF).
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

inline constexpr uint64_t kRflagsInterruptEnable = 1 << 9;

// Disables interrupts and returns the previous RFLAGS for irq_restore.
inline uint64_t irq_save() {
  uint64_t flags;
  asm volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
  return flags;
}
inline void irq_restore(uint64_t flags) {
  if (flags & kRflagsInterruptEnable) asm volatile("sti" ::: "memory");
}
inline void irq_enable() { asm volatile("sti" ::: "memory"); }
inline void irq_disable() { asm volatile("cli" ::: "memory"); }
inline bool interrupts_enabled() {
  uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags));
  return (flags & kRflagsInterruptEnable) != 0;
}
inline void cpu_relax() { asm volatile("pause"); }

// Interrupts off for a scope (so no preemption on this CPU either), then as they were.
class InterruptsOff {
 public:
  InterruptsOff() : flags_(irq_save()) {}
  ~InterruptsOff() { irq_restore(flags_); }
  InterruptsOff(const InterruptsOff&) = delete;
  InterruptsOff& operator=(const InterruptsOff&) = delete;

 private:
  uint64_t flags_;
};

}  // namespace exo::arch
