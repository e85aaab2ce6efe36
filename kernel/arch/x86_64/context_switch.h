// x86_64 thread switch, inline: see kernel/arch/context.h for the contract.
#pragma once

#include "kernel/lib/types.h"

extern "C" void exo_thread_trampoline();
extern "C" void exo_ipc_resume_parked();

namespace exo::arch {

// Only the resume address and %rbp (the frame pointer, which cannot be named as clobbered) go on
// the old stack: every other general register is clobbered, so the compiler keeps nothing live
// in registers across the switch and saves just the callee-saved ones its own function uses, in
// that function's prologue. %rax carries `prev` across: the resumed side receives the `prev`
// of whichever switch resumed it. The old out-of-line switch pushed and popped all six
// callee-saved registers on top of the caller's own prologue saves.
inline void* context_switch(uptr* save_sp, uptr next_sp, void* prev) {
  asm volatile(
      "pushq %%rbp\n\t"
      "leaq 1f(%%rip), %%rcx\n\t"
      "pushq %%rcx\n\t"
      "movq %%rsp, (%%rdi)\n\t"
      "movq %%rsi, %%rsp\n\t"
      "retq\n"
      "1:\n\t"
      "popq %%rbp"
      : "+a"(prev), "+D"(save_sp), "+S"(next_sp)
      :
      : "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc");
  return prev;
}

// The first switch to a new thread "returns" into exo_thread_trampoline (context_switch.S),
// which pops start and arg and calls start(arg, prev) with prev from %rax.
inline uptr initial_thread_stack(uptr stack_top, void (*start)(void* arg, void* prev), void* arg) {
  auto* sp = reinterpret_cast<uint64_t*>(stack_top);
  // Two pads: after the trampoline's two pops %rsp is 16-byte aligned at its call, as the
  // System V ABI requires.
  *--sp = 0;
  *--sp = 0;
  *--sp = reinterpret_cast<uint64_t>(arg);
  *--sp = reinterpret_cast<uint64_t>(start);
  *--sp = reinterpret_cast<uint64_t>(&exo_thread_trampoline);
  return reinterpret_cast<uptr>(sp);
}

// Resumes the thread whose saved stack pointer is next_sp as context_switch would, with `prev`,
// without saving anything of the running context: the caller's stack is abandoned (the thread
// that ran on it is parked, see park_ipc_context, or will never run again).
[[noreturn]] inline void context_jump(uptr next_sp, void* prev) {
  asm volatile(
      "movq %0, %%rsp\n\t"
      "retq"
      :
      : "r"(next_sp), "a"(prev)
      : "memory");
  __builtin_unreachable();
}

// The kernel context of a thread parked in the IPC fast path at its user boundary: nothing of
// its kernel stack matters but the register frame the syscall entry pushed at `frame`, so a
// switch to it "returns" into exo_ipc_resume_parked (syscall_entry.S), which finishes the switch,
// settles how the wait ended and returns to ring 3 from the frame. Writes the two words
// context_switch expects (resume address, then %rbp) in the 16 bytes below `frame`, which the
// entry reserves for them, and returns the stack pointer to save.
inline uptr park_ipc_context(void* frame) {
  auto* sp = static_cast<uint64_t*>(frame) - 2;
  sp[0] = reinterpret_cast<uint64_t>(&exo_ipc_resume_parked);
  sp[1] = 0;
  return reinterpret_cast<uptr>(sp);
}

// The other way into a parked thread, from the fast path of its peer: onto its kernel stack at
// `frame`, the peer let go (*prev_on_cpu = false, release), and back to ring 3 with EXO_OK and
// the register-only message of the peer's frame `message` (exo_ipc_return_parked,
// syscall_entry.S). Interrupts off.
[[noreturn]] inline void return_to_parked(void* frame, const void* message, bool* prev_on_cpu) {
  asm volatile("jmp exo_ipc_return_parked"
               :
               : "D"(frame), "S"(message), "d"(prev_on_cpu)
               : "memory");
  __builtin_unreachable();
}

}  // namespace exo::arch
