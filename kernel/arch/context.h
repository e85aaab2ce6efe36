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
//
//   [[noreturn]] void context_jump(uptr next_sp, void* prev);
//     context_switch without saving the running context: the running thread must already have
//     a saved stack pointer to resume from (it was parked), or never run again.
//
//   uptr park_ipc_context(void* frame);
//     The saved stack pointer of a thread parked at its user boundary in the IPC fast path,
//     whose syscall register frame is at `frame` (docs/ipc.md, "Parked threads").
//
//   [[noreturn]] void return_to_parked(void* frame, const void* message, bool* prev_on_cpu);
//     Resumes a parked thread without a switch: onto its stack, *prev_on_cpu = false (release)
//     for the thread left, then to ring 3 from `frame` with the IPC status EXO_OK and the
//     register-only message in the syscall frame `message`.

}  // namespace exo::arch

#include "kernel/arch/x86_64/context_switch.h"
