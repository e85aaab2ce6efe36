// Segment register reload after lgdt (Intel SDM vol. 3, 3.4.3): CS only changes through a far
// transfer, so push the new selector and return through it.
    .text
    .global _ZN3exo4arch15reload_segmentsEtt
// void exo::arch::reload_segments(uint16_t code_selector /* di */, uint16_t data_selector /* si */)
_ZN3exo4arch15reload_segmentsEtt:
    mov %si, %ds
    mov %si, %es
    mov %si, %ss
    movzwq %di, %rdi
    pushq %rdi
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  ret
