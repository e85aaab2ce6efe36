// Raw syscall stubs: `syscall` itself, and one inline stub per entry of kernel/abi/syscalls.h.
#pragma once

#include <stdint.h>

#include "kernel/abi/syscalls.h"

namespace exo::sys::raw {

// rax after the call (status: >= 0 success, < 0 EXO_ERR_*) and rdx (the second result of the
// calls that have one, docs/syscalls.md).
struct Return {
  int64_t status;
  uint64_t second;
};

// The instruction (Intel SDM vol. 2B, SYSCALL): it overwrites rcx (return rip) and r11
// (rflags), so both are clobbered; "memory" because the kernel reads and writes our buffers.
inline Return syscall6(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, uint64_t a5) {
  uint64_t rax = number;
  uint64_t rdx = a2;
  register uint64_t r10 asm("r10") = a3;
  register uint64_t r8 asm("r8") = a4;
  register uint64_t r9 asm("r9") = a5;
  asm volatile("syscall"
               : "+a"(rax), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
               : "D"(a0), "S"(a1)
               : "rcx", "r11", "memory");
  return Return{static_cast<int64_t>(rax), rdx};
}

#define EXO_RAW_FORWARD_0 0, 0, 0, 0, 0, 0
#define EXO_RAW_FORWARD_1 a0, 0, 0, 0, 0, 0
#define EXO_RAW_FORWARD_2 a0, a1, 0, 0, 0, 0
#define EXO_RAW_FORWARD_3 a0, a1, a2, 0, 0, 0
#define EXO_RAW_FORWARD_4 a0, a1, a2, a3, 0, 0
#define EXO_RAW_FORWARD_5 a0, a1, a2, a3, a4, 0
#define EXO_RAW_FORWARD_6 a0, a1, a2, a3, a4, a5
#define EXO_RAW_STUB(number, name, argc)             \
  inline Return name(EXO_SYSCALL_PARAMS(argc)) {     \
    return syscall6(number, EXO_RAW_FORWARD_##argc); \
  }
// raw::debug_log(a0, a1), raw::yield(), ...: exactly the table's arity, so a typed wrapper that
// passes the wrong number of arguments does not compile.
EXO_SYSCALLS(EXO_RAW_STUB)
#undef EXO_RAW_STUB

}  // namespace exo::sys::raw
