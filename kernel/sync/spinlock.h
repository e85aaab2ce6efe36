// Ticket spinlock that also disables local interrupts while held: FIFO fairness under
// contention and no deadlock against an interrupt handler on the same CPU.
#pragma once

#include "kernel/arch/x86_64/interrupts.h"
#include "kernel/lib/types.h"

namespace exo {

class Spinlock {
 public:
  constexpr Spinlock() = default;
  Spinlock(const Spinlock&) = delete;
  Spinlock& operator=(const Spinlock&) = delete;

  // Returns the interrupt state to hand back to release().
  [[nodiscard]] uint64_t acquire() {
    uint64_t flags = arch::irq_save();
    uint32_t ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) arch::cpu_relax();
    return flags;
  }
  void release(uint64_t flags) {
    __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE);
    arch::irq_restore(flags);
  }
  // Acquire/release without touching the interrupt flag, for callers that manage it.
  void acquire_irqs_off() {
    uint32_t ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) arch::cpu_relax();
  }
  void release_irqs_off() { __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE); }
  bool is_held() const {
    return __atomic_load_n(&serving_, __ATOMIC_RELAXED) != __atomic_load_n(&next_, __ATOMIC_RELAXED);
  }

 private:
  uint32_t next_ = 0;
  uint32_t serving_ = 0;
};

// Scoped holder: interrupts off and the lock held for the guard's lifetime.
class SpinlockGuard {
 public:
  explicit SpinlockGuard(Spinlock& lock) : lock_(lock), flags_(lock.acquire()) {}
  ~SpinlockGuard() { lock_.release(flags_); }
  SpinlockGuard(const SpinlockGuard&) = delete;
  SpinlockGuard& operator=(const SpinlockGuard&) = delete;

 private:
  Spinlock& lock_;
  uint64_t flags_;
};

}  // namespace exo
