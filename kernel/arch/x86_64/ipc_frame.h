// x86_64's IPC register frame: the user registers syscall_entry.S saves for an IPC syscall, in
// the order it pushes them (exo_ipc_return_parked reads it by these offsets too), and the inline
// accessors the IPC fast path (kernel/ipc/fastpath.cc) reads a message with
// (kernel/arch/ipc_frame.h).
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

// Lowest address first: what the IPC path pushes, then the frame every syscall has. The ABI's
// registers (kernel/abi/ipc.h): rdi endpoint, rsi tag, rdx r10 r8 r9 r12 r13 words 0..5,
// r14 options, rbx the deadline (with EXO_IPC_DEADLINE), r15 tail buffer; rax (not saved here)
// carries the status back.
struct IpcFrame {
  uint64_t rbx, rbp, r12, r13, r14, r15;
  uint64_t number, r9, r8, r10, rdx, rsi, rdi, r11, rcx, rsp;
};
static_assert(sizeof(IpcFrame) == 16 * 8, "syscall_entry.S pushes sixteen words");
static_assert(__builtin_offsetof(IpcFrame, rdx) == 80 && __builtin_offsetof(IpcFrame, rsi) == 88 &&
                  __builtin_offsetof(IpcFrame, r12) == 16 && __builtin_offsetof(IpcFrame, rsp) == 120,
              "syscall_entry.S reads the frame by these offsets");

inline uint64_t ipc_endpoint(const IpcFrame& f) { return f.rdi; }
inline uint64_t ipc_tag(const IpcFrame& f) { return f.rsi; }
inline uint64_t ipc_options(const IpcFrame& f) { return f.r14; }

// Word i (0..5) of the message in `f`.
inline uint64_t ipc_word(const IpcFrame& f, unsigned i) {
  switch (i) {
    case 0: return f.rdx;
    case 1: return f.r10;
    case 2: return f.r8;
    case 3: return f.r9;
    case 4: return f.r12;
    default: return f.r13;
  }
}

}  // namespace exo::arch
