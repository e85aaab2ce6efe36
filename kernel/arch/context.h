// The seam for thread switching: what generic scheduler code needs from the architecture.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

// The architecture provides, inline (x86_64: kernel/arch/x86_64/context_switch.h):
//
//   void* context_switch(uptr* save_sp, uptr next_sp, void* prev);
//     Switches from the running thread (whose stack pointer is stored through save_sp) to the
//     thread whose saved stack pointer is next_sp. Returns when some CPU switches back to the
//     caller, with the `prev` argument of that switch (the thread that ran there just before).
//     Precondition: interrupts disabled.
//
//   uptr initial_thread_stack(uptr stack_top, void (*start)(void* arg, void* prev), void* arg);
//     Lays out a new thread's stack so that the first context_switch to it calls
//     start(arg, prev) on that stack, prev as context_switch would have returned it. Returns
//     the stack pointer to switch to. start must never return. Precondition: stack_top is
//     16-byte aligned with at least 64 writable bytes below it.

}  // namespace exo::arch

#include "kernel/arch/x86_64/context_switch.h"
