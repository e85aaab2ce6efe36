// A new thread's first instructions. The switch itself is inline (context_switch.h).
    .text
    .global exo_thread_trampoline

// First "return" of a new thread (arch::initial_thread_stack lays out the frame): the stack holds
// the C++ start function and its argument; %rax holds the thread switched away from. Clears the
// frame pointer so backtraces end here.
    .balign 16
exo_thread_trampoline:
    popq %rcx                                   // start
    popq %rdi                                   // arg
    movq %rax, %rsi                             // prev
    xorl %ebp, %ebp
    call *%rcx
    ud2                                         // the start function never returns
