// Entry stubs for the 32 CPU exception vectors and the 224 interrupt vectors 32..255: each
// pushes a uniform TrapFrame (kernel/arch/x86_64/trap_frame.h) and calls exo_trap_dispatch.
// Intel SDM vol. 3, 6.14.

// Vectors for which the CPU pushes an error code (Intel SDM vol. 3, table 6-1).
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

    .text
    .macro exception_stub vector
    .balign 16
exception_stub_\vector:
    .if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0                                  // uniform frame: a zero error code
    .endif
    pushq $\vector
    jmp trap_common
    .endm

    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    exception_stub \v
    .endr

// Interrupt vectors 32..255 never carry an error code. Every stub is 16 bytes apart, so the
// table below is the start address plus 16 * (vector - 32).
    .balign 16
interrupt_stubs:
    .set interrupt_vector, 32
    .rept 224
    .balign 16
    pushq $0
    pushq $interrupt_vector
    jmp trap_common
    .set interrupt_vector, interrupt_vector + 1
    .endr

trap_common:
    // From ring 3 (the CS the CPU pushed has RPL 3), GS base is still the user's: swap in the
    // per-CPU block. [rsp] = vector, [rsp + 8] = error code, [rsp + 16] = rip, [rsp + 24] = cs.
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    mov %rsp, %rdi
    // 22 words are on the stack and the CPU aligned RSP to 16 before pushing its 5, so the
    // call below sees the ABI's 16-byte alignment (Intel SDM vol. 3, 6.14.2).
    call exo_trap_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    add $16, %rsp                             // vector and error code
    testb $3, 8(%rsp)                         // back to ring 3: the user's GS base again
    jz 2f
    swapgs
2:  iretq

    .section .rodata
    .balign 8
    .global exo_exception_stubs
exo_exception_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_stub_\v
    .endr

    .global exo_interrupt_stubs
exo_interrupt_stubs:
    .set interrupt_vector, 0
    .rept 224
    .quad interrupt_stubs + 16 * interrupt_vector
    .set interrupt_vector, interrupt_vector + 1
    .endr
