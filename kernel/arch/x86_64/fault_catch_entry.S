// setjmp/longjmp pair for arch::run_catching_faults (see fault_catch.h).
    .text
    .global exo_catch_call, exo_catch_landing
// bool exo_catch_call(void (*fn)(void*) /* rdi */, void* arg /* rsi */, uint64_t* resume_rsp /* rdx */)
exo_catch_call:
    pushq %rbp
    mov %rsp, %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdx                                // keeps the stack 16-byte aligned for the call
    mov %rsp, (%rdx)
    mov %rdi, %rax
    mov %rsi, %rdi
    call *%rax
    xor %eax, %eax
    jmp 1f
// Reached through iretq from the trap handler with RSP = the value stored above.
exo_catch_landing:
    mov $1, %eax
1:  popq %rdx
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

// Test helper: a stack push to an unmapped address faults while the CPU is unable to deliver the
// #PF on the same stack, which escalates to #DF (Intel SDM vol. 3, 6.15, interrupt 8).
    .global exo_trigger_double_fault
exo_trigger_double_fault:
    movabs $0xffff900000000000, %rsp
    pushq $0
    ud2
