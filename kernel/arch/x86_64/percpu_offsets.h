/* Offsets into PerCpu that assembly uses (checked against the struct in percpu.h). */
#ifndef EXO_ARCH_X86_64_PERCPU_OFFSETS_H
#define EXO_ARCH_X86_64_PERCPU_OFFSETS_H

#define EXO_PERCPU_KERNEL_STACK_TOP 8
#define EXO_PERCPU_USER_RSP_SCRATCH 16
#define EXO_PERCPU_USER_EXIT_FLAG 32

#endif
