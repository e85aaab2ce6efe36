// The seam for thread switching: what generic scheduler code needs from the architecture.
#pragma once

#include "kernel/lib/types.h"

extern "C" void exo_context_switch(exo::uptr* save_sp, exo::uptr next_sp);
extern "C" void exo_thread_trampoline();

namespace exo::arch {

// Switches from the running thread (its stack pointer is stored through save_sp) to the thread
// whose saved stack pointer is next_sp. Returns when some CPU switches back to the caller.
// Precondition: interrupts disabled.
inline void context_switch(uptr* save_sp, uptr next_sp) { exo_context_switch(save_sp, next_sp); }

// Lays out a new thread's stack so that the first context_switch to it calls start(arg) on that
// stack. Returns the stack pointer to switch to. start must never return.
// Precondition: stack_top is 16-byte aligned and at least 64 bytes are writable below it.
inline uptr initial_thread_stack(uptr stack_top, void (*start)(void*), void* arg) {
  // Popped by exo_context_switch: r15, r14, r13, r12, rbx, rbp, then the return address.
  // The slot above the return address keeps the System V alignment the trampoline's call needs.
  auto* sp = reinterpret_cast<uint64_t*>(stack_top);
  *--sp = 0;  // alignment pad, as if a call had pushed a return address
  *--sp = reinterpret_cast<uint64_t>(&exo_thread_trampoline);
  *--sp = 0;                                   // rbp
  *--sp = 0;                                   // rbx
  *--sp = reinterpret_cast<uint64_t>(start);   // r12
  *--sp = reinterpret_cast<uint64_t>(arg);     // r13
  *--sp = 0;                                   // r14
  *--sp = 0;                                   // r15
  return reinterpret_cast<uptr>(sp);
}

}  // namespace exo::arch
