// Application processor start-up trampoline: real mode -> protected mode -> long mode, then a
// jump into the kernel proper. Intel SDM vol. 3, 9.9 (mode switching) and 9.8.5 (IA-32e
// initialisation). The bytes between exo_ap_trampoline_start and _end are copied by smp.cc to
// physical AP_BASE; the SIPI vector (AP_BASE >> 12) starts the AP there with CS = AP_BASE >> 4,
// IP = 0, so every address below is computed for that copy, not for the kernel image.
// Layout (docs/smp.md): code, then the temporary GDT and its pointer, then the parameter block
// (struct ApTrampolineParams in smp.cc) that the boot CPU fills before each start-up.

#define AP_BASE 0x8000
#define ABS(sym) ((sym) - exo_ap_trampoline_start + AP_BASE)

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define EFER_MSR 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

    .section .rodata.ap_trampoline, "a"
    .balign 16
    .global exo_ap_trampoline_start
exo_ap_trampoline_start:
    .code16
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl ABS(trampoline_gdt_pointer)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $SEL_CODE32, $ABS(trampoline_protected)

    .code32
trampoline_protected:
    mov $SEL_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    // Only PAE here: the boot CPU's full CR4 (which may hold PCIDE, legal only in long mode)
    // is loaded once the kernel page tables are in CR3.
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov ABS(param_trampoline_cr3), %eax
    mov %eax, %cr3
    mov $EFER_MSR, %ecx
    rdmsr
    or $(EFER_LME | EFER_NXE), %eax       // NXE before paging: the kernel tables use bit 63
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_WP), %eax
    mov %eax, %cr0
    ljmp $SEL_CODE64, $ABS(trampoline_long)

    .code64
trampoline_long:
    mov ABS(param_stack_top), %rsp
    mov ABS(param_cpu_index), %edi
    mov ABS(param_kernel_cr3), %rsi
    mov ABS(param_cr4), %rdx
    mov ABS(param_efer), %rcx
    mov ABS(param_cr0), %r8
    mov ABS(param_entry), %rax
    jmp *%rax

    .balign 8
trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff              // 0x08: 32-bit code, 4 GiB flat
    .quad 0x00cf92000000ffff              // 0x10: data, 4 GiB flat
    .quad 0x00209a0000000000              // 0x18: 64-bit code
trampoline_gdt_end:
trampoline_gdt_pointer:
    .short trampoline_gdt_end - trampoline_gdt - 1
    .long ABS(trampoline_gdt)

    // struct ApTrampolineParams: keep in step with smp.cc.
    .balign 8
    .global exo_ap_trampoline_params
exo_ap_trampoline_params:
param_trampoline_cr3: .quad 0   // identity + kernel halves, below 4 GiB
param_kernel_cr3:     .quad 0
param_stack_top:      .quad 0
param_cpu_index:      .quad 0
param_entry:          .quad 0   // exo_ap_long_mode_entry
param_cr4:            .quad 0
param_efer:           .quad 0
param_cr0:            .quad 0   // clears the CD/NW an AP leaves INIT with (Intel SDM vol. 3, 9.1.1)
    .global exo_ap_trampoline_end
exo_ap_trampoline_end:

// Entered from the trampoline in long mode, on the AP's own stack, still on the trampoline's
// page tables and GDT: edi = cpu index, rsi = kernel CR3, rdx = boot CPU's CR4, rcx = its EFER,
// r8 = its CR0.
    .text
    .global exo_ap_long_mode_entry
exo_ap_long_mode_entry:
    mov %r8, %cr0
    mov %rsi, %cr3
    mov %rdx, %cr4
    mov %rcx, %rax
    mov %rcx, %rdx
    shr $32, %rdx
    mov $EFER_MSR, %ecx
    wrmsr
    xor %ebp, %ebp
    call exo_ap_main
1:  cli
    hlt
    jmp 1b
