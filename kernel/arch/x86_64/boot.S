// Multiboot2 header and 32-bit entry: check the CPU, build the boot page tables, enter long mode
// and jump to the kernel linked at -2 GiB. Intel SDM vol. 3, 9.8.5 (initializing IA-32e mode).

#define KERNEL_VMA 0xffffffff80000000
#define PHYS(sym) ((sym) - KERNEL_VMA)

#define MB2_MAGIC 0xe85250d6
#define MB2_BOOTLOADER_MAGIC 0x36d76289

#define PTE_P (1 << 0)
#define PTE_W (1 << 1)
#define PTE_PS (1 << 7)
#define PTE_NX_HIGH (1 << 31)  // bit 63, as seen in the high dword

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define EXIT_BOOT_FAILURE 4    // guest status 3 ("unsupported machine"), written as status + 1

#define BOOT_STACK_SIZE (16 * 1024)
#define KERNEL_PAGE_TABLES 4   // 4 page tables map the first 8 MiB of physical memory

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long 0                                  // architecture: i386 protected mode
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
    .balign 8
    .short 0                                 // end tag
    .short 0
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .global exo_multiboot_entry
exo_multiboot_entry:
    cli
    cld
    // Registers survive until the stores below; nothing before them touches eax/ebx/ecx/edx.
    mov %eax, %ebp                           // bootloader magic
    mov %ebx, %esi                           // physical address of the multiboot2 information
    rdtsc
    mov %eax, PHYS(exo_boot_tsc)
    mov %edx, PHYS(exo_boot_tsc) + 4
    mov %ebp, PHYS(exo_boot_magic)
    mov %esi, PHYS(exo_boot_info_phys)

    // Zero .bss: it holds the page tables and the stack we are about to use. Its bounds are
    // page-aligned (kernel.ld), so whole dwords cover it.
    mov $PHYS(__bss_start), %edi
    mov $PHYS(__bss_end), %ecx
    sub %edi, %ecx
    shr $2, %ecx
    xor %eax, %eax
    rep stosl
    mov $PHYS(exo_boot_stack_top), %esp

    call early_uart_init

    cmp $MB2_BOOTLOADER_MAGIC, %ebp
    jne .Lnot_multiboot2

    // Long mode (CPUID 80000001h:EDX[29]) and NX (EDX[20]); Intel SDM vol. 2A, CPUID.
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb .Lno_long_mode
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc .Lno_long_mode
    bt $20, %edx
    jnc .Lno_nx

    call build_page_tables

    mov $PHYS(exo_boot_pml4), %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $(1 << 5), %eax                       // CR4.PAE
    mov %eax, %cr4
    mov $0xc0000080, %ecx                    // IA32_EFER
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax         // LME | NXE
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax        // PG | WP: read-only pages bind ring 0 too
    mov %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $long_mode_entry

.Lnot_multiboot2:
    mov $msg_not_multiboot2, %esi
    jmp boot_fail
.Lno_long_mode:
    mov $msg_no_long_mode, %esi
    jmp boot_fail
.Lno_nx:
    mov $msg_no_nx, %esi
    jmp boot_fail

// Prints the NUL-terminated message at %esi on COM1 and the VGA text screen, then leaves QEMU
// through isa-debug-exit (a no-op on real hardware, where we halt).
boot_fail:
    mov $0xb8000, %edi
1:  movzbl (%esi), %eax
    test %al, %al
    jz 3f
    mov %eax, %ebx
    mov $(COM1 + 5), %dx
2:  inb %dx, %al
    test $0x20, %al                           // LSR.THRE
    jz 2b
    mov $COM1, %dx
    mov %ebx, %eax
    outb %al, %dx
    mov $0x4f, %ah                            // white on red
    mov %ax, (%edi)
    add $2, %edi
    inc %esi
    jmp 1b
3:  mov $DEBUG_EXIT_PORT, %dx
    mov $EXIT_BOOT_FAILURE, %eax
    outl %eax, %dx
4:  hlt
    jmp 4b

// 115200 8N1, FIFOs on; enough for boot_fail. The C++ driver re-initialises the port later.
early_uart_init:
    mov $(COM1 + 1), %dx; mov $0x00, %al; outb %al, %dx    // IER: no interrupts
    mov $(COM1 + 3), %dx; mov $0x80, %al; outb %al, %dx    // LCR: DLAB
    mov $(COM1 + 0), %dx; mov $0x01, %al; outb %al, %dx    // divisor 1 = 115200
    mov $(COM1 + 1), %dx; mov $0x00, %al; outb %al, %dx
    mov $(COM1 + 3), %dx; mov $0x03, %al; outb %al, %dx    // 8N1
    mov $(COM1 + 2), %dx; mov $0xc7, %al; outb %al, %dx    // FIFO on, cleared
    ret

// Boot page tables (Intel SDM vol. 3, 4.5):
//   PML4[0]   -> identity map of the first 1 GiB, 2 MiB pages, so this code survives CR0.PG;
//                removed by the kernel once it runs in the higher half.
//   PML4[256] -> direct map of physical 0..4 GiB at 0xffff800000000000, 2 MiB pages, RW NX.
//   PML4[511] -> PDPT[510] -> the kernel image at 0xffffffff80000000 + phys, 4 KiB pages,
//                text R-X, rodata R-- NX, data and bss RW- NX.
build_page_tables:
    mov $PHYS(exo_boot_pdpt_low), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pml4) + 0 * 8
    mov $PHYS(exo_boot_pdpt_direct), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pml4) + 256 * 8
    mov $PHYS(exo_boot_pdpt_kernel), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pml4) + 511 * 8

    // Identity: 512 x 2 MiB, executable (the boot stub runs from it).
    mov $PHYS(exo_boot_pd_low), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pdpt_low)
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P | PTE_W | PTE_PS), %eax
    mov %eax, PHYS(exo_boot_pd_low)(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jb 1b

    // Direct map: 4 PDs x 512 x 2 MiB = 4 GiB.
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $12, %eax
    add $PHYS(exo_boot_pd_direct), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pdpt_direct)(, %ecx, 8)
    inc %ecx
    cmp $4, %ecx
    jb 2b
    xor %ecx, %ecx                            // ecx = index of the 2 MiB page, 0..2047
3:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P | PTE_W | PTE_PS), %eax
    mov %eax, PHYS(exo_boot_pd_direct)(, %ecx, 8)
    mov %ecx, %eax
    shr $11, %eax                             // bits 32+ of the physical address
    or $PTE_NX_HIGH, %eax
    mov %eax, PHYS(exo_boot_pd_direct) + 4(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jb 3b

    // Kernel window: PDPT[510] -> PD, whose first entries point at the 4 KiB page tables.
    mov $PHYS(exo_boot_pd_kernel), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pdpt_kernel) + 510 * 8
    xor %ecx, %ecx
4:  mov %ecx, %eax
    shl $12, %eax
    add $PHYS(exo_boot_pt_kernel), %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, PHYS(exo_boot_pd_kernel)(, %ecx, 8)
    inc %ecx
    cmp $KERNEL_PAGE_TABLES, %ecx
    jb 4b

    mov $__kernel_phys_start, %ecx            // ecx = physical address of the page
5:  mov %ecx, %eax
    or $PTE_P, %eax
    xor %edx, %edx
    cmp $PHYS(__text_end), %ecx
    jb 6f                                     // .boot and .text: R-X
    mov $PTE_NX_HIGH, %edx
    cmp $PHYS(__rodata_end), %ecx
    jb 6f                                     // .rodata: R--
    or $PTE_W, %eax                           // .data, .bss: RW-
6:  mov %ecx, %edi
    shr $12, %edi
    mov %eax, PHYS(exo_boot_pt_kernel)(, %edi, 8)
    mov %edx, PHYS(exo_boot_pt_kernel) + 4(, %edi, 8)
    add $4096, %ecx
    cmp $__kernel_phys_end, %ecx
    jb 5b
    ret

    .code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    movabs $higher_half_entry, %rax
    jmp *%rax

    .section .boot.rodata, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00209a0000000000                  // 0x08: 64-bit code, DPL 0
    .quad 0x0000920000000000                  // 0x10: data, DPL 0
boot_gdt_end:
boot_gdt_pointer:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

msg_not_multiboot2:
    .asciz "Exo: not started by a Multiboot2 loader (bad magic in EAX); halting.\r\n"
msg_no_long_mode:
    .asciz "Exo: this CPU has no 64-bit long mode; Exo needs an x86_64 CPU. Halting.\r\n"
msg_no_nx:
    .asciz "Exo: this CPU has no NX (execute-disable) bit; Exo needs it for W^X. Halting.\r\n"

    .text
higher_half_entry:
    movabs $exo_boot_stack_top, %rsp
    xor %ebp, %ebp
    mov exo_boot_magic(%rip), %edi            // 32-bit loads zero-extend: upper halves of
    mov exo_boot_info_phys(%rip), %esi        // registers are undefined after the mode switch
    call kernel_main
1:  cli
    hlt
    jmp 1b

    .data
    .balign 8
    .global exo_boot_tsc, exo_boot_magic, exo_boot_info_phys
exo_boot_tsc:
    .quad 0
exo_boot_magic:
    .long 0
exo_boot_info_phys:
    .long 0

    .bss
    .balign 4096
    .global exo_boot_pml4
exo_boot_pml4:        .skip 4096
exo_boot_pdpt_low:    .skip 4096
exo_boot_pd_low:      .skip 4096
exo_boot_pdpt_direct: .skip 4096
exo_boot_pd_direct:   .skip 4 * 4096
exo_boot_pdpt_kernel: .skip 4096
exo_boot_pd_kernel:   .skip 4096
exo_boot_pt_kernel:   .skip KERNEL_PAGE_TABLES * 4096
    .global exo_boot_stack_bottom, exo_boot_stack_top
exo_boot_stack_bottom:
    .skip BOOT_STACK_SIZE
exo_boot_stack_top:
