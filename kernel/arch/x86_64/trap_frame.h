// The register frame every trap stub builds; its layout is fixed by exception_entry.S.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

struct TrapFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector;
  uint64_t error_code;
  // Pushed by the CPU (Intel SDM vol. 3, figure 6-9).
  uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(TrapFrame) == 22 * 8);

}  // namespace exo::arch
