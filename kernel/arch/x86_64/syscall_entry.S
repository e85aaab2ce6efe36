// The `syscall` entry (IA32_LSTAR) and the way back with `sysretq` (Intel SDM vol. 2B, SYSCALL
// and SYSRET; vol. 3, 5.8.8). On entry rcx = user rip, r11 = user rflags, rsp = the user stack,
// interrupts masked by IA32_FMASK; nothing else is trustworthy.
#include "kernel/arch/x86_64/percpu_offsets.h"

    .text
    .global exo_syscall_entry
    .balign 16
exo_syscall_entry:
    swapgs                                          // GS base: the per-CPU block
    movq %rsp, %gs:EXO_PERCPU_USER_RSP_SCRATCH
    movq %gs:EXO_PERCPU_KERNEL_STACK_TOP, %rsp      // the thread's kernel stack
    // The SyscallFrame (syscall_frame.h), from the top: user rsp, rip, rflags, number, then the
    // six arguments so that rdi is lowest and the arguments read as an array.
    pushq %gs:EXO_PERCPU_USER_RSP_SCRATCH
    pushq %rcx
    pushq %r11
    pushq %rax
    pushq %r9
    pushq %r8
    pushq %r10
    pushq %rdx
    pushq %rsi
    pushq %rdi
    sti
    // Ten words on a 16-byte aligned top keep the call aligned. rbx, rbp, r12-r15 are
    // callee-saved in C++, so they reach user space unchanged.
    mov %rsp, %rdi
    call exo_syscall_dispatch
    cli
    popq %rdi
    popq %rsi
    popq %rdx                                       // the second result where there is one
    popq %r10
    popq %r8
    popq %r9
    popq %rax                                       // the status
    popq %r11
    popq %rcx
    // exo_syscall_dispatch has checked that rcx is canonical: sysret with a non-canonical rcx
    // raises #GP in ring 0 on the user's stack (the SYSRET hazard).
    popq %rsp
    swapgs
    sysretq
