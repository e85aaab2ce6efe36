// The `syscall` entry (IA32_LSTAR) and the way back with `sysretq` (Intel SDM vol. 2B, SYSCALL
// and SYSRET; vol. 3, 5.8.8). On entry rcx = user rip, r11 = user rflags, rsp = the user stack,
// interrupts masked by IA32_FMASK; nothing else is trustworthy.
//
// The path is kept short on purpose (docs/benchmarks.md): the argument registers stay where
// they are and the handler is called straight from the table (kernel/syscall/dispatch.cc),
// whose entries return the status in rax and the value rdx gets back in rdx.
#include "kernel/abi/ipc.h"
#include "kernel/abi/status.h"
#include "kernel/abi/syscalls.h"
#include "kernel/arch/x86_64/percpu_offsets.h"

    .text
    .global exo_syscall_entry
    .balign 16
exo_syscall_entry:
    swapgs                                          // GS base: the per-CPU block
    movq %rsp, %gs:EXO_PERCPU_USER_RSP_SCRATCH
    movq %gs:EXO_PERCPU_KERNEL_STACK_TOP, %rsp      // the thread's kernel stack
    // What sysretq needs, and the registers the ABI preserves that a C++ call may clobber.
    // Ten words on the 16-byte aligned top keep the call below aligned.
    pushq %gs:EXO_PERCPU_USER_RSP_SCRATCH
    pushq %rcx                                      // user rip
    pushq %r11                                      // user rflags
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r10
    pushq %r8
    pushq %r9
    pushq %rax                                      // the number (for debuggers and IPC)
    cmpq $EXO_SYSCALL_COUNT, %rax                   // unsigned: high bits set are unknown too
    jae .Lunknown
    sti
    movq %r10, %rcx                                 // the fourth argument, C++ style
    call *exo_syscall_table(, %rax, 8)              // -> rax status, rdx for the user's rdx
.Lexit:
    cli
    // Work before ring 3 (the process is ending): the slow path, which may not come back.
    movq %gs:EXO_PERCPU_USER_EXIT_FLAG, %rcx
    cmpb $0, (%rcx)
    jne .Lwork
    addq $8, %rsp                                   // the number
    popq %r9
    popq %r8
    popq %r10
    addq $8, %rsp                                   // rdx: the handler's second word instead
    popq %rsi
    popq %rdi
    popq %r11
    popq %rcx
    // rcx is the instruction after `syscall`, canonical because the last user page is never
    // mapped (vm/address_space.h): sysretq with a non-canonical rcx would #GP in ring 0 on the
    // user's stack (the SYSRET hazard).
    popq %rsp
    swapgs
    sysretq

// The callee-saved registers join the frame for IPC (arch::IpcFrame, ipc_frame.h): the handler
// reads and rewrites any of them (rbx carries a deadline), and the exit reloads rdx from the
// frame as well. rbp carries nothing, but sixteen words keep the call aligned.
.macro PUSH_IPC_FRAME
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %rbp
    pushq %rbx
.endm

.Lunknown:
    // IPC (kernel/abi/ipc.h) moves more registers than a plain call, so it is numbered
    // outside the table and handled here, off the plain path: the two the fast path takes
    // first, then the rest.
    cmpq $EXO_IPC_NR_CALL, %rax
    je .Lfast_call
    cmpq $EXO_IPC_NR_REPLY_RECV, %rax
    je .Lfast_reply_recv
    cmpq $EXO_IPC_SYSCALL_FIRST, %rax
    jb 1f
    cmpq $EXO_IPC_SYSCALL_END, %rax
    jb .Lipc
1:  movq $EXO_ERR_BAD_SYSCALL, %rax                 // rdx is still the caller's
    jmp .Lexit

.Lipc:
    PUSH_IPC_FRAME
.Lipc_generic:
    sti
    movq %rax, %rdi
    movq %rsp, %rsi
    call exo_ipc_dispatch
    jmp exo_ipc_return

// The fast path (kernel/ipc/fastpath.h), interrupts still off, the frame in rdi. The 16 bytes
// below the frame are left for a parked context (arch::park_ipc_context), so the call's return
// address goes below them. Taken, it does not return: this thread is parked and its peer runs
// (arch::return_to_parked, or a switch). Returning, it did nothing: on to the generic path.
.Lfast_call:
    PUSH_IPC_FRAME
    movq %rsp, %rdi
    subq $16, %rsp
    call exo_ipc_fast_call
    jmp 1f
.Lfast_reply_recv:
    PUSH_IPC_FRAME
    movq %rsp, %rdi
    subq $16, %rsp
    call exo_ipc_fast_reply_recv
1:  addq $16, %rsp
    movq 48(%rsp), %rax                             // IpcFrame::number
    jmp .Lipc_generic

// A switch to a thread the fast path parked lands here (arch::park_ipc_context), with the
// thread switched from in rax and this CPU's scheduler lock held, on the parked context's
// second word: the thread's register frame is just above.
    .global exo_ipc_resume_parked
exo_ipc_resume_parked:
    addq $8, %rsp                                   // the %rbp word
    movq %rax, %rdi
    movq %rsp, %rsi
    call exo_ipc_parked_resumed                     // -> rax the status, the answer in the frame

// Back to ring 3 from an IPC frame on top of this thread's kernel stack, status in rax.
    .global exo_ipc_return
exo_ipc_return:
    popq %rbx
    popq %rbp
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    movq 32(%rsp), %rdx                             // the rdx slot (IpcFrame::rdx)
    jmp .Lexit

// Into a parked thread from its peer's fast path (arch::return_to_parked): rdi the parked
// thread's frame, rsi the frame the message comes from (the calling thread's, which is being
// parked and still has this CPU, so its frame cannot change yet), rdx that thread's on_cpu
// flag. The message
// goes register to register: the tag and the counted words from the peer's frame, zeros past
// the count (the ABI's; the peer's other registers must not leak), then the parked thread's
// own preserved registers from its frame, interrupts off throughout.
    .global exo_ipc_return_parked
exo_ipc_return_parked:
    movq %rdx, %rax
    movq 80(%rsi), %rdx                             // IpcFrame::rdx .. r13: words 0..5
    movq 72(%rsi), %r10
    movq 64(%rsi), %r8
    movq 56(%rsi), %r9
    movq 16(%rsi), %r12
    movq 24(%rsi), %r13
    movq 88(%rsi), %rsi                             // the tag; its word count is at most 6
    movq %rsi, %rcx
    shrq $32, %rcx
    andl $15, %ecx
    jmp *.Lzero_from(, %rcx, 8)
.Lzero_0: xorl %edx, %edx
.Lzero_1: xorl %r10d, %r10d
.Lzero_2: xorl %r8d, %r8d
.Lzero_3: xorl %r9d, %r9d
.Lzero_4: xorl %r12d, %r12d
.Lzero_5: xorl %r13d, %r13d
.Lzero_6:
    movq %rdi, %rsp                                 // off the calling thread's stack: let it go
    movb $0, (%rax)                                 // a plain store releases on x86
    movq %gs:EXO_PERCPU_USER_EXIT_FLAG, %rcx
    cmpb $0, (%rcx)
    jne 1f
    movq 0(%rsp), %rbx
    movq 8(%rsp), %rbp
    movq 32(%rsp), %r14
    movq 40(%rsp), %r15
    movq 96(%rsp), %rdi
    movq 104(%rsp), %r11
    movq 112(%rsp), %rcx                            // canonical: see .Lexit
    movq 120(%rsp), %rsp
    xorl %eax, %eax                                 // EXO_OK
    swapgs
    sysretq
1:  // Its process is ending: the message into its frame, then the exit's slow path.
    movq %rdx, 80(%rsp)
    movq %r10, 72(%rsp)
    movq %r8, 64(%rsp)
    movq %r9, 56(%rsp)
    movq %r12, 16(%rsp)
    movq %r13, 24(%rsp)
    movq %rsi, 88(%rsp)
    xorl %eax, %eax
    jmp exo_ipc_return

    .section .rodata
    .balign 8
.Lzero_from:
    .quad .Lzero_0, .Lzero_1, .Lzero_2, .Lzero_3, .Lzero_4, .Lzero_5, .Lzero_6
    .text

.Lwork:
    pushq %rax
    pushq %rdx
    call exo_syscall_exit_work
    popq %rdx
    popq %rax
    jmp .Lexit
