// The register frame syscall_entry.S builds on the kernel stack; its layout is fixed there.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

struct SyscallFrame {
  uint64_t arguments[6];  // rdi, rsi, rdx, r10, r8, r9 (rdx is also the second result)
  uint64_t rax;           // the number on entry, the status on return
  uint64_t rflags;        // r11
  uint64_t rip;           // rcx
  uint64_t rsp;
};
static_assert(sizeof(SyscallFrame) == 10 * 8);

}  // namespace exo::arch
