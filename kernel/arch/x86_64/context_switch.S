// Kernel thread switch: saves the System V callee-saved registers and the stack pointer of the
// current thread, restores the next thread's. Nothing else is live across a call, so nothing
// else is saved (FPU state is handled separately, for user threads only: docs/scheduler.md).
    .text
    .global exo_context_switch, exo_thread_trampoline

// void exo_context_switch(uptr* save_sp /* rdi */, uptr next_sp /* rsi */)
    .balign 16
exo_context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

// First "return" of a new thread (arch::initial_thread_stack lays out the frame): r12 holds the
// C++ start function, r13 its argument. Clears the frame pointer so backtraces end here.
exo_thread_trampoline:
    xor %ebp, %ebp
    mov %r13, %rdi
    call *%r12
    ud2                                         // the start function never returns
