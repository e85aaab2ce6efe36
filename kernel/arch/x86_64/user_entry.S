// Entering ring 3 for the first time, and the one routine that touches user memory.
#include "kernel/arch/x86_64/percpu_offsets.h"

#define USER_DATA_SELECTOR (0x20 | 3)
#define USER_CODE_SELECTOR (0x28 | 3)
#define RFLAGS_IF 0x202

    .text
// [[noreturn]] void exo_enter_user(uint64_t rip /* rdi */, uint64_t rsp /* rsi */,
//                                  uint64_t argument /* rdx */)
// An iretq frame to ring 3 (Intel SDM vol. 3, 6.14.1): ss, rsp, rflags, cs, rip.
    .global exo_enter_user
    .balign 16
exo_enter_user:
    cli
    pushq $USER_DATA_SELECTOR
    pushq %rsi
    pushq $RFLAGS_IF
    pushq $USER_CODE_SELECTOR
    pushq %rdi
    mov %rdx, %rdi
    // Nothing of the kernel's leaks into the new thread: every other register starts at 0.
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    mov %eax, %ds
    mov %eax, %es
    swapgs                                          // user GS base (0) from here on
    iretq

// uint64_t exo_user_copy(void* destination /* rdi */, const void* source /* rsi */,
//                        uint64_t length /* rdx */)
// Returns 0, or the number of bytes not copied when a page fault stopped it: the trap handler
// sends a fault at exo_user_copy_fault_ip to exo_user_copy_fixup (user_mode.cc). With SMAP on,
// stac/clac open user pages to the kernel for exactly this instruction.
    .global exo_user_copy, exo_user_copy_fault_ip, exo_user_copy_fixup
    .balign 16
exo_user_copy:
    mov %rdx, %rcx
    cmpb $0, exo_smap_active(%rip)
    je 1f
    stac
1:
exo_user_copy_fault_ip:
    rep movsb
    xor %eax, %eax
    jmp 2f
exo_user_copy_fixup:
    mov %rcx, %rax                                  // rep movsb left the remaining count here
2:  cmpb $0, exo_smap_active(%rip)
    je 3f
    clac
3:  ret
